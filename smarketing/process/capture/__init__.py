"""Sales email capture: reps' emails land on the timeline without being retyped (issue 10, part 4).

- `parse.py`: raw bytes → a `Parsed` message, defensively (size cap, malformed MIME, HTML reduced to text).
- `services.py`: `capture()`: match the addresses to contacts, skip colleague-only mail, write one
  CapturedEmail per user and Message-ID and a touch on each contact's timeline (a sent one stops the SLA clock).
- `smtp.py`: the inbound SMTP receiver of the BCC logging addresses (`smarketing mailin`).
- `imap.py`: the periodic sync of one chosen IMAP folder per user (`process.tasks.sync_mailboxes`).
- `secret.py`: the IMAP password, encrypted at rest.
"""
