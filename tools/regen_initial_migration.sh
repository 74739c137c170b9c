#!/usr/bin/env bash
# Regenerate migration 0001 from the models, keeping its hand-written PostgreSQL trigger.
# Only for use before the first release: once 0001 has run anywhere, add a new revision instead.
set -euo pipefail
cd "$(dirname "$0")/.."
F=storage/migrations/versions/20261123_0001_initial_schema.py
cp "$F" /tmp/stemme_old_0001.py
rm "$F"
rm -f /tmp/stemme_gen.db
STEMME_DATABASE_URL=sqlite:////tmp/stemme_gen.db .venv/bin/alembic revision --autogenerate \
  -m "initial schema" --rev-id 0001 >/dev/null
.venv/bin/python - "$F" <<'PY'
import pathlib, re, sys
p = pathlib.Path(sys.argv[1]); t = p.read_text()
old = pathlib.Path("/tmp/stemme_old_0001.py").read_text()
t = re.sub(r"Create Date: .*\n", "Create Date: 2026-11-23\n", t)
start = old.index('\n    if op.get_bind().dialect.name == "postgresql":\n        # The audit log')
end = old.index("\n\ndef downgrade()")
marker = "    # ### end Alembic commands ###\n"
i = t.index(marker)
t = t[: i + len(marker)].rstrip("\n") + "\n" + old[start:end] + "\n" + t[i + len(marker):]
t = t.replace('def downgrade() -> None:\n    """Revert this revision."""\n',
              'def downgrade() -> None:\n    """Revert this revision."""\n'
              '    if op.get_bind().dialect.name == "postgresql":\n'
              '        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")\n'
              '        op.execute("DROP FUNCTION IF EXISTS stemme_audit_log_append_only()")\n')
p.write_text(t)
PY
echo "regenerated $F"
