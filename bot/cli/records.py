"""Record commands: export (case or art. 15), erase, and the retention review list."""

from __future__ import annotations

import argparse
import getpass
import json
from pathlib import Path

from sqlmodel import Session

from bot.cli.output import CommandError, Output
from bot.runtime.parts import Runtime
from consent import audit
from consent.access import participant_export
from consent.erasure import ErasureError, erase, retire_old_masters
from consent.retention import closed_for_review
from reports.casefile import load_case_data
from reports.export import export_csv, export_document, export_json
from reports.graph import render_progress
from reports.journal import journal_pdf
from storage.models import Case, Participant, utcnow

CASE_FORMATS = ("png", "svg", "pdf", "csv", "json")


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def cmd_export(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """A case's progression (png/svg/pdf/csv/json), or one person's own data (json)."""
    now = utcnow()
    target = Path(args.out)
    if args.participant:
        if args.format != "json":
            raise CommandError("a participant's own data is exported as --format json")
        with Session(rt.engine) as session:
            try:
                document = participant_export(session, rt.vault, args.participant, now=now)
            except LookupError as exc:
                raise CommandError(str(exc)) from None
            audit.append(session, actor=_actor(), action="export.participant",
                         target=f"participant:{args.participant}", detail="art15", at=now)
            target.write_text(json.dumps(document, ensure_ascii=False, indent=2, default=str),
                              encoding="utf-8")
            session.commit()
        out.result({"ok": True, "participant_id": args.participant, "out": str(target),
                    "answers": len(document["answers"])},
                   f"wrote {target} ({len(document['answers'])} answers)")
        return
    if args.format not in CASE_FORMATS:
        raise CommandError(f"--format must be one of {', '.join(CASE_FORMATS)}")
    rules = rt.settings.rules.rules
    with Session(rt.engine) as session:
        try:
            case = load_case_data(session, rt.vault, args.case, now=now,
                                  comments=args.format in ("pdf", "json"))
        except LookupError as exc:
            raise CommandError(str(exc)) from None
        with out.progress(f"exporting {args.format}", 1) as step:
            if args.format == "json":
                export_json(case, path=target, rules=rules)
            elif args.format == "csv":
                export_csv(case, path=target)
            elif args.format == "pdf":
                journal_pdf(case, generated_by=_actor(), generated_at=now, path=target,
                            rules=rules)
            else:
                render_progress(case, args.format, path=target, rules=rules)
            step()
        audit.append(session, actor=_actor(), action=f"export.{args.format}",
                     target=f"case:{args.case}", at=now)
        session.commit()
    out.result({"ok": True, "case_id": args.case, "format": args.format, "out": str(target),
                "answers": len(case.answers)},
               f"wrote {target} ({len(case.answers)} item answers)")


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
                           actor=_actor(), now=now)
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
