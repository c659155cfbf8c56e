// The words the server and the pages share, as the Python package `vocabulary` defines them.
//
// A change here is a contract change: tests/unit/test_vocabulary_js.py reads this module
// with node and fails unless every object equals its Python enum, member for member.

export const CandidateStatus = Object.freeze({
  NOT_STARTED: "not_started",
  IN_PROGRESS: "in_progress",
  FINISHED: "finished",
  ENDED_BY_SUPERVISOR: "ended_by_supervisor",
  ENDED_BY_FINALIZATION: "ended_by_finalization",
  ENDED_BY_EXPIRY: "ended_by_expiry",
});

// The statuses in which a test is over, whoever ended it.
export const ENDED = Object.freeze([
  CandidateStatus.FINISHED,
  CandidateStatus.ENDED_BY_SUPERVISOR,
  CandidateStatus.ENDED_BY_FINALIZATION,
  CandidateStatus.ENDED_BY_EXPIRY,
]);

export const SessionStatus = Object.freeze({
  CREATED: "created",
  FINALIZED: "finalized",
});

export const Connection = Object.freeze({
  NEVER: "never",
  CONNECTED: "connected",
  LOST: "lost",
});

export const EventName = Object.freeze({
  CANDIDATE_UPDATED: "candidate.updated",
  CANDIDATE_REMOVED: "candidate.removed",
  SESSION_UPDATED: "session.updated",
  SUPERVISORS_UPDATED: "supervisors.updated",
  ROOM_MESSAGE: "room.message",
});

export const Action = Object.freeze({
  ENROLLED: "enrolled",
  REMOVED: "removed",
  PRESENCE_CONFIRMED: "presence_confirmed",
  PRESENCE_WITHDRAWN: "presence_withdrawn",
  STARTED: "started",
  ANSWERED: "answered",
  FINISHED: "finished",
  RESUME_REQUESTED: "resume_requested",
  RESUME_AUTHORIZED: "resume_authorized",
  RESUMED: "resumed",
  ENDED_BY_SUPERVISOR: "ended_by_supervisor",
  ENDED_BY_FINALIZATION: "ended_by_finalization",
  FINALIZED: "finalized",
  CONNECTED: "connected",
  CONNECTION_LOST: "connection_lost",
  SUPERVISOR_JOINED: "supervisor_joined",
  SUPERVISOR_ONLINE: "supervisor_online",
  SUPERVISOR_OFFLINE: "supervisor_offline",
  PAUSED: "paused",
  UNPAUSED: "unpaused",
  TIME_ADJUSTED: "time_adjusted",
  ENDED_BY_EXPIRY: "ended_by_expiry",
  MESSAGE_SENT: "message_sent",
  JOIN_SUPERSEDED: "join_superseded",
  SUPERVISOR_REVOKED: "supervisor_revoked",
  PASSWORD_ROTATED: "password_rotated",
  ALERT_RAISED: "alert_raised",
  ALERT_VALIDATED: "alert_validated",
  ALERT_REFUSED: "alert_refused",
  REPORT_ADDED: "report_added",
  REPORT_EDITED: "report_edited",
  REPORT_REMOVED: "report_removed",
});

export const BulkAction = Object.freeze({
  CONFIRM_PRESENCE: "confirm_presence",
  END_TEST: "end_test",
  PAUSE: "pause",
  RESUME: "resume",
});

export const AlertStatus = Object.freeze({
  PENDING: "pending",
  VALIDATED: "validated",
  REFUSED: "refused",
  CLOSED: "closed",
});

export const AlertCategory = Object.freeze({
  IMAGE: "image",
  DISPLAY: "display",
  LINK: "link",
  EXTRA_TIME: "extra_time",
  ACCESSIBILITY: "accessibility",
  OTHER: "other",
});

export const ReportCategory = Object.freeze({
  ATTENDANCE: "attendance",
  IDENTITY: "identity",
  ACCESSIBILITY: "accessibility",
  TECHNICAL: "technical",
  QUESTION: "question",
  FRAUD: "fraud",
  OTHER: "other",
});

export const ReportOrigin = Object.freeze({
  SUPERVISOR: "supervisor",
  ALERT: "alert",
  END_TEST: "end_test",
  FINALIZATION: "finalization",
  TIME_ADJUSTMENT: "time_adjustment",
});

export const MessageType = Object.freeze({
  SNAPSHOT: "snapshot",
  EVENT: "event",
  HEARTBEAT: "heartbeat",
  RESYNC: "resync",
  CANDIDATE: "candidate",
  MESSAGE: "message",
  ERROR: "error",
});

export const CloseCode = Object.freeze({
  POLICY: 1008,
  TOO_BIG: 1009,
  INTERNAL: 1011,
  TRY_AGAIN: 1013,
  NOT_LOGGED_IN: 4401,
  NO_ACCESS: 4403,
  REPLACED: 4408,
  ELSEWHERE: 4409,
  OVER: 4410,
  REVOKED: 4411,
});

export const isEnded = (status) => ENDED.includes(status);
