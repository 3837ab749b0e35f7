"""The servers socialhub is compared with, each small and plain, all speaking one protocol.

Protocol: the client authenticates with `?token=T` (a token from the fixtures file) and sends
`{"type": "private", "to": id, ...}`, `{"type": "group", "group_id": g, ...}` or
`{"type": "broadcast", ...}`; the server adds `"from"` and forwards the frame to the recipient,
the other group members, or every other connection. Nothing is stored, nothing is acked.
"""
