"""How many live sockets one person may hold on this process (a few tabs, not a thousand)."""

from __future__ import annotations

from app.i18n import N_
from realtime.sockets import Handle
from vocabulary import CloseCode

REPLACED = (CloseCode.REPLACED, N_("Ouvert dans un autre onglet ou sur un autre appareil."))

# (kind, session id, person id, join): "supervisor" with a user id and join 0, "candidate"
# with a candidate id and the join its socket listens for (app.actions.candidate_test.
# listening_join). Each join has its own cap: the sockets of a refused join's waiting page
# (someone asking to resume) must not push the current join's browser out, which would
# show it lost and hide that the resume was asked while it was connected.
Key = tuple[str, int, int, int]


class Caps:
    """The live sockets of each person on this process, oldest first. Past the cap the
    oldest is closed: the newest tab is the one in front of its user."""

    def __init__(self) -> None:
        self._open: dict[Key, list[Handle]] = {}

    def enter(self, key: Key, handle: Handle, cap: int) -> None:
        held = self._open.setdefault(key, [])
        held.append(handle)
        while len(held) > cap:
            held.pop(0).close(*REPLACED)

    def leave(self, key: Key, handle: Handle) -> None:
        held = self._open.get(key, [])
        if handle in held:
            held.remove(handle)
        if not held:
            self._open.pop(key, None)
