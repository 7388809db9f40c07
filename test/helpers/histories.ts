/**
 * Workflow histories to and from JSON files (the proto3 JSON of `temporal workflow show --output
 * json`), for scripts/record-histories.ts and test/replay.test.ts.
 *
 * Why not the SDK's historyToJSON / historyFromJSON: in this install @temporalio/common and
 * @temporalio/proto each carry their own copy of protobufjs 8 (the root holds protobufjs 7 for
 * @grpc/proto-loader), and the SDK's helpers mix the two copies ("type must be a Type"). Here the
 * protojson extension is loaded from the same copy that built the History type, whatever the
 * layout of node_modules.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

type History = proto.temporal.api.history.v1.IHistory;

interface ProtoJson {
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
  toJson(type: unknown, message: unknown): unknown;
}

const protoPackageDir = path.dirname(require.resolve('@temporalio/proto/package.json'));
// eslint-disable-next-line @typescript-eslint/no-require-imports -- resolved from @temporalio/proto's own dependency tree on purpose
const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [protoPackageDir] })) as ProtoJson;
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType(
  'temporal.api.history.v1.History',
);

export function historyToJson(history: History): string {
  const message = proto.temporal.api.history.v1.History.fromObject(history);
  return `${JSON.stringify(protojson.toJson(historyType, message), null, 2)}\n`;
}

/** A History message (event ids as Long), which Worker.runReplayHistory takes as it is. */
export function historyFromJson(json: unknown): History {
  const history = protojson.fromJson(historyType, json, { ignoreUnknownFields: true });
  if (!history) throw new TypeError('not a workflow history');
  return history as History;
}

export function readHistoryFile(file: string): History {
  return historyFromJson(JSON.parse(readFileSync(file, 'utf8')));
}

/** The ids of the patches a history's markers record (`patched()` branches taken), in order. */
export function patchMarkers(history: History): string[] {
  return (history.events ?? []).flatMap((e) => {
    const data = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
    return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id] : [];
  });
}
