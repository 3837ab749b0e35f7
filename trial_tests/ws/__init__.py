"""Tests of socialhub/ws/: the WebSocket protocol, dispatch, turns and the socket writes."""
