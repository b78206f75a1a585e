#!/usr/bin/env bash
# Regenerates the demo meeting recording (meeting.ogg) and its turn script (script.json)
# from synthetic voices: espeak-ng and sox from Debian. The project ships only audio it made.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
turns=(
  "en-gb|Amina Diallo|Senegal|government|onsite|Thank you, Chair. Senegal supports remote participation for every session of this forum."
  "en-us|Luis Romero|Youth Coalition|civil society|remote|Good afternoon from Lima. Remote speakers must be heard in real time, not read out at the end."
  "en-gb-scotland|Karin Berg|Internet Society|technical community|onsite|We can publish the live transcript within the hour, with every speaker named."
)
python3 - "$tmp" "${turns[@]}" <<'PY'
import json, subprocess, sys, wave
tmp, turns = sys.argv[1], sys.argv[2:]
parts, script, t = [], [], 1.0
subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", f"{tmp}/gap.wav", "trim", "0", "1.5"], check=True)
parts.append(f"{tmp}/gap.wav")
for i, turn in enumerate(turns):
    voice, name, affiliation, group, mode, text = turn.split("|")
    raw = f"{tmp}/raw{i}.wav"; wav = f"{tmp}/t{i}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", raw, text], check=True)
    subprocess.run(["sox", raw, "-r", "16000", "-c", "1", "-b", "16", wav], check=True)
    with wave.open(wav) as w:
        seconds = w.getnframes() / w.getframerate()
    start = t + 0.5
    script.append({"name": name, "affiliation": affiliation, "group": group, "mode": mode,
                   "floor_at": round(t, 2), "end_at": round(start + seconds + 0.8, 2), "text": text})
    parts += [wav, f"{tmp}/gap.wav"]
    t = start + seconds + 1.5
subprocess.run(["sox", *parts, "-C", "3", "meeting.ogg"], check=True)
json.dump(script, open("script.json", "w"), indent=1)
PY
