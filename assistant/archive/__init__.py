"""The archive: the SQLite store and its tables, exports, subtitles, the chair's report and its charts."""
