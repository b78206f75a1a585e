"""The archive: the SQLite store and its tables, exports, subtitles, the chair's report and its charts,
and the document both the Markdown and the HTML outputs are written from."""
