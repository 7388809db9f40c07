/** What the console reads from the API (the status object itself comes from domain/status.ts). */
import type { ApplicationSummary } from '../../domain/status';

export type SlaLevel = 'on_track' | 'warning' | 'breached';

export type { ApplicationSummary };

export interface ApplicationPage {
  items: ApplicationSummary[];
  nextPageToken: string | null;
}

/** GET /v1/stats. */
export interface Stats {
  total: number;
  byStatus: Record<string, number>;
  openBySlaLevel: Record<string, number>;
  breachesByScope: Record<string, number>;
  breachesByDistrict: Record<string, number>;
  openTotal?: number;
  /** Closed in Temporal itself (terminated, timed out, failed) while open for Kaiban: no compensation ran. */
  endedInTemporal?: number;
  /** Open applications waiting for a person: review, correction (the applicant), incident. */
  openByTask?: Record<string, number>;
  completedToday?: number;
  completedThisWeek?: number;
  completedByDay?: { date: string; count: number }[];
  completion?: {
    sampleSize: number;
    withinOneWorkingDay: number | null;
    medianWorkingMs: number | null;
    p95WorkingMs: number | null;
    method: string;
  };
  /** The calendar data staff must deploy before deadlines fail (the coming year's schedule, …). */
  calendarIssues?: { level: 'warning' | 'error'; code: string; year: number; message: string }[];
  generatedAt?: string;
}

export interface ApiErrorBody {
  error: {
    code: string;
    message: string;
    issues?: { path: string; code: string; message: string }[];
    requestId?: string;
  };
}

export interface ActionAnswer {
  actionId: string;
  action: string;
  accepted: true;
  at: string;
  status: string;
}

export interface ConsoleConfig {
  devSignIn: boolean;
  roles: string[];
  roleClaim: string;
}
