"""What people do, one module per actor or concern (as Zulip's `zerver/actions/`).

Each public function that changes something runs inside one write transaction (`Tx`):
it locks the exam session, checks its guards against the latest state, decides with the
transition table, changes rows, and records each change in the event log. Events reach
the broker only after commit (`Database.write`). Nothing here knows about HTTP or sockets.

- `rules`: the settings the actions obey; the one way to build a candidate's view.
- `transitions`: the candidate lifecycle as a table (status × command → status or refusal).
- `guards`: locking, membership, supervisor access, the candidate's cookie, typed codes.
- `eventlog`: the one way to record a change (`emit_candidate`, ...) and to replay them.
- `accounts`: sign up, log in under the rate limit, who am I.
- `centres`: centre staff's sessions, enrolment, import, removal, finalisation, and their reads.
- `supervision`: supervisor access, the snapshot, presence, resume, end of test.
- `candidate_test`: join, start, answer, and what the candidate's page and socket read.
- `presence`: connection leases (connected, lost, supervisors online).
"""
