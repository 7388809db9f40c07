/**
 * A client whose queries the server rejects for closed workflows (`queryRejectCondition: NOT_OPEN`): a query to a
 * finished application is answered by the server alone, instead of a worker replaying its whole history. Used where
 * a closed application has a cheaper answer: its result (status reads) or nothing to do (agency callbacks).
 */
import { Client } from '@temporalio/client';

const derived = new WeakMap<Client, Client>();

/** `client` on the same connection, namespace, data converter and interceptors, rejecting queries to closed workflows. */
export function rejectingClosedQueries(client: Client): Client {
  let rejecting = derived.get(client);
  if (!rejecting) {
    rejecting = new Client({
      connection: client.connection,
      namespace: client.options.namespace,
      dataConverter: client.options.dataConverter,
      interceptors: client.options.interceptors,
      workflow: { queryRejectCondition: 'NOT_OPEN' },
    });
    derived.set(client, rejecting);
  }
  return rejecting;
}
