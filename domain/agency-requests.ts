/**
 * What each step sends to its agency, built from the application and the outputs of the steps it
 * needs. Pure, so the workflow builds requests itself and history shows exactly what was filed.
 */
import type { Application } from './application';
import type { StepId } from './steps';

export type StepOutputs = Partial<Record<StepId, Record<string, unknown>>>;

/**
 * The details of a failed filing (the activity's failure and heartbeat details): whether any attempt so far may have
 * been carried out by the agency without its answer reaching Kaiban (adapters/agency-client.ts says when).
 */
export interface FilingFailureDetails {
  outcomeUnknown: boolean;
  /** The attempt that reported it (heartbeat details outlive an attempt that ends without reporting). */
  attempt: number;
}

/**
 * Whether a filing that failed may still have reached the agency, from its failure's details. Only a failure that
 * says otherwise rules it out: a failure without them (an attempt that timed out, a worker lost, a history from
 * before the details existed) may have.
 */
export function filingMayHaveReachedAgency(details: readonly unknown[] | null | undefined): boolean {
  return (details?.[0] as Partial<FilingFailureDetails> | undefined)?.outcomeUnknown !== false;
}

function needOutput(outputs: StepOutputs, step: StepId): Record<string, unknown> {
  const output = outputs[step];
  if (!output) throw new Error(`the output of step '${step}' is needed but missing`);
  return output;
}

function uscc(outputs: StepOutputs): string {
  return String(needOutput(outputs, 'license').uscc);
}

export function buildAgencyPayload(step: StepId, app: Application, outputs: StepOutputs): Record<string, unknown> {
  switch (step) {
    case 'name':
      return { companyName: app.company.name, district: app.company.district, entityType: app.company.entityType };
    case 'license':
      return {
        reservationId: needOutput(outputs, 'name').reservationId,
        company: {
          name: app.company.name,
          district: app.company.district,
          entityType: app.company.entityType,
          registeredCapitalCny: app.company.registeredCapitalCny,
          address: app.company.address,
          businessScope: app.company.businessScope,
        },
        people: app.people,
        delivery: app.services.licenseDelivery,
      };
    case 'seal':
      return { uscc: uscc(outputs), seals: app.services.seals, electronicSeals: app.services.electronicSeals };
    case 'tax':
      return { uscc: uscc(outputs), invoiceTypes: app.services.tax.invoiceTypes, taxUkey: app.services.tax.taxUkey };
    case 'social':
      return { uscc: uscc(outputs), insuredEmployees: app.services.socialSecurity.insuredEmployees };
    case 'fund':
      return {
        uscc: uscc(outputs),
        depositRatePercent: app.services.providentFund.depositRatePercent,
        contributors: app.services.providentFund.contributors,
      };
    case 'bank': {
      const seals = needOutput(outputs, 'seal').seals;
      const sealRecordIds = Array.isArray(seals) ? seals.map((s: { recordId?: unknown }) => String(s.recordId)) : [];
      return {
        uscc: uscc(outputs),
        bank: app.services.bank.bank,
        branch: app.services.bank.branch,
        preferredDate: app.services.bank.preferredDate,
        sealRecordIds,
      };
    }
    case 'archive':
      return { outputs };
  }
}

/** The idempotency key of one filing: stable across activity retries and worker restarts. */
export function filingKey(applicationId: string, step: StepId): string {
  return `${applicationId}:${step}`;
}
