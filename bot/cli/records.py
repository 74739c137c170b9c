"""Record commands: export (case or art. 15), erase, and the retention review list."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sqlmodel import Session

from bot.cli.output import CommandError, Output
from bot.cli.refusals import actor
from bot.runtime.parts import Runtime
from casework.exports import export_case, export_participant
from consent.access import participant_export
from consent.erasure import ErasureError, erase, retire_old_masters
from consent.retention import closed_for_review
from reports.casefile import load_case_data
from reports.export import export_document
from storage.db import session_scope
from storage.models import Case, Participant, utcnow
from storage.repo.cases import get_case


def cmd_export(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """A case's progression (png/svg/pdf/csv/json), or one person's own data (json)."""
    now = utcnow()
    target = Path(args.out)
    if args.participant:
        if args.format != "json":
            raise CommandError("a participant's own data is exported as --format json")
        with session_scope(rt.engine) as session:
            try:
                document = export_participant(session, rt.vault, args.participant,
                                              actor=actor(), now=now)
            except LookupError as exc:
                raise CommandError(str(exc)) from None
            target.write_text(json.dumps(document, ensure_ascii=False, indent=2, default=str),
                              encoding="utf-8")
        out.result({"ok": True, "participant_id": args.participant, "out": str(target),
                    "answers": len(document["answers"])},
                   f"wrote {target} ({len(document['answers'])} answers)")
        return
    with session_scope(rt.engine) as session:
        case = get_case(session, args.case)
        with out.progress(f"exporting {args.format}", 1) as step:
            exported = export_case(session, rt.vault, case, args.format, actor=actor(),
                                   lang="da", now=now, via="cli", rules=rt.settings.rules.rules)
            # Written inside the transaction: no export is audited that was not written.
            target.write_bytes(exported.body)
            step()
    out.result({"ok": True, "case_id": args.case, "format": args.format, "out": str(target),
                "answers": exported.answers},
               f"wrote {target} ({exported.answers} item answers)")


def cmd_erase(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Export for the case system, then destroy the keys: the data is gone for good."""
    now = utcnow()
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    folder = Path(args.export_dir) if args.export_dir else rt.settings.data_dir / "erasure"
    with Session(rt.engine) as session:
        if args.case:
            if session.get(Case, args.case) is None:
                raise CommandError(f"no case {args.case}")
            data = load_case_data(session, rt.vault, args.case, now=now)
            document = export_document(data, rules=rt.settings.rules.rules)
            document["comments"] = [{"written_at": c.written_at.isoformat(),
                                     "rater_role": c.rater_role, "text": c.text}
                                    for c in data.comments]
            path = folder / f"case-{args.case}-{stamp}.json"
        else:
            if session.get(Participant, args.participant) is None:
                raise CommandError(f"no participant {args.participant}")
            document = participant_export(session, rt.vault, args.participant, now=now)
            path = folder / f"participant-{args.participant}-{stamp}.json"
        try:
            report = erase(session, rt.vault, case_id=args.case,
                           participant_id=args.participant, export=document, export_path=path,
                           actor=actor(), now=now)
        except ErasureError as exc:
            raise CommandError(str(exc)) from None
        session.commit()
    retired = retire_old_masters(rt.keys)  # only now: the re-wrapped keys are committed
    out.result({"ok": True, "target": report.target, "export": str(report.export_path),
                "keys_destroyed": report.keys_destroyed, "master_key_id": report.master_key_id,
                "master_keys_retired": retired},
               f"erased {report.target}: export written to {report.export_path} first, "
               f"{report.keys_destroyed} data keys destroyed, master key replaced. "
               "Back up the key file now and retire older key-file backups.")


def cmd_retention(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """List closed cases past the retention period for a person to review."""
    with Session(rt.engine) as session:
        cases = closed_for_review(session, utcnow(), args.months)
    rows = [{"case_id": c.id, "ref": c.ref, "closed_at": c.closed_at} for c in cases]
    lines = [f"{r['ref']}  {r['case_id']}  closed {r['closed_at']:%Y-%m-%d}" for r in rows]
    out.result({"ok": True, "months": args.months, "cases": rows},
               "\n".join(lines) or f"no closed cases older than {args.months} months")
