"""The WebSocket endpoint: the Autobahn protocol and the frames it speaks."""
