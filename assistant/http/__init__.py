"""The HTTP and websocket shell: the app, the API, the meeting and audio websockets, archive handlers."""
