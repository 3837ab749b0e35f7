"""Tests of the web client: the server side over real HTTP, the client in a real Chromium."""
