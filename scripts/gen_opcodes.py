#!/usr/bin/env python3
"""gen_opcodes.py — the op codes and enums of base/ops.h (the op registry) for everything outside C.

Writes scripts/convert_lib/opcodes.py from base/ops.h. With --check, writes nothing and exits 1 when
opcodes.py differs from what it would write, when tests/converter/ref_interp.py lacks an op, or when the
op table of docs/OPS.md disagrees with the registry (a code, a name, or a missing or extra row).
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
OPS_H = os.path.join(ROOT, 'base', 'ops.h')
OPCODES_PY = os.path.join(ROOT, 'scripts', 'convert_lib', 'opcodes.py')
OPS_MD = os.path.join(ROOT, 'docs', 'OPS.md')

# C enum -> (prefix stripped in Python, names kept as they are)
ENUMS = (('act_kind', '', 'ACT_'), ('binary_kind', 'BIN_', ''), ('compare_kind', 'CMP_', ''),
         ('reduce_kind', '', 'RED_'), ('unary_kind', 'UN_', ''),
         # opsvision
         ('pad_mode', '', 'PAD_'), ('resize_mode', '', 'RESIZE_'))


def read_ops(text):
    """[(ENUM, id, code)] from the INFER_OPS X-macro."""
    rows = re.findall(r'X\((\w+), (\w+), (\d+), (-?\d+), (-?\d+), (\d+)\)', text)
    if not rows:
        sys.exit('gen_opcodes: no INFER_OPS rows in base/ops.h')
    return [(e, i, int(c)) for e, i, c, *_ in rows]


def read_enum(text, name):
    """[(NAME, value)] of `typedef enum { ... } name;`, values counted as C does."""
    m = re.search(r'typedef enum \{([^}]*)\} ' + name + ';', text)
    if not m:
        sys.exit('gen_opcodes: no enum %s in base/ops.h' % name)
    out, value = [], -1
    for item in (s.strip() for s in m.group(1).split(',')):
        if not item:
            continue
        key, _, given = (p.strip() for p in item.partition('='))
        value = int(given, 0) if given else value + 1
        if not key.endswith('_COUNT'):
            out.append((key, value))
    return out


def generate(text):
    lines = ['"""Runtime op codes and enums of docs/OPS.md, generated from base/ops.h by scripts/gen_opcodes.py:',
             'do not edit; run `make opcodes` after changing base/ops.h."""']
    lines += ['%s = %d' % (e, c) for e, _, c in read_ops(text)]
    for name, strip, _ in ENUMS:
        lines.append('')
        lines += ['%s = %d' % (k[len(strip):] if strip and k.startswith(strip) else k, v)
                  for k, v in read_enum(text, name)]
    lines.append('')
    lines.append('OP_NAMES = {')
    lines += ['    %s: %r,' % (e, i) for e, i, _ in read_ops(text)]
    lines.append('}')
    return '\n'.join(lines) + '\n'


def check_docs(ops):
    """Problems of the op table in docs/OPS.md: rows `| code | name | ...`."""
    rows = re.findall(r'^\|\s*(\d+)\s*\|\s*(\w+)\s*\|', open(OPS_MD).read(), re.M)
    documented = {int(c): n for c, n in rows}
    problems = []
    for _, name, code in ops:
        if code not in documented:
            problems.append('docs/OPS.md has no row for op %d (%s)' % (code, name))
        elif documented[code] != name:
            problems.append('docs/OPS.md names op %d %r, the registry %r' % (code, documented[code], name))
    for code in sorted(set(documented) - {c for _, _, c in ops}):
        problems.append('docs/OPS.md documents op %d (%s), which the registry lacks' % (code, documented[code]))
    return problems


def check_ref_interp(ops):
    sys.path.insert(0, os.path.join(ROOT, 'tests', 'converter'))
    import ref_interp  # noqa: E402 (needs numpy)
    return ['tests/converter/ref_interp.py has no reference for op %d (%s)' % (c, i)
            for _, i, c in ops if c not in ref_interp.OPS]


def main():
    text = open(OPS_H).read()
    wanted = generate(text)
    if '--check' not in sys.argv:
        with open(OPCODES_PY, 'w') as f:
            f.write(wanted)
        return 0
    ops = read_ops(text)
    problems = []
    if open(OPCODES_PY).read() != wanted:
        problems.append('scripts/convert_lib/opcodes.py is not what base/ops.h gives: run `make opcodes`')
    problems += check_docs(ops) + check_ref_interp(ops)
    for p in problems:
        print('gen_opcodes: ' + p, file=sys.stderr)
    if not problems:
        print('gen_opcodes: opcodes.py, ref_interp.py and docs/OPS.md agree with base/ops.h (%d ops)' % len(ops))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
