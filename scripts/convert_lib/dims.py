"""Named dynamic dims: the sizes each is traced at, and fitting a size seen in every run to an expression."""
import ifg
from . import ConvertError

DEFAULT_MAX = 2 ** 31 - 1
MAX_POWER = ifg.MAX_POWER


class DimSpec:
    """The named dims of a conversion and the value of each in every recorded run.

    Run 0 is at the example sizes; then, for each dim in turn, two runs with that dim alone at two other
    sizes (grown by one, and doubled plus two, inside its range); last, one run with every dim at its
    first other size, which checks that the fitted expressions hold when the dims change together."""

    def __init__(self, names, examples, ranges):
        self.names = list(names)
        self.examples = dict(examples)
        self.ranges = {n: ranges.get(n, (1, DEFAULT_MAX)) for n in self.names}
        for name in self.names:
            low, high = self.ranges[name]
            if not 1 <= low <= self.examples[name] <= high:
                raise ConvertError(f'dim {name}: the example size {self.examples[name]} is outside its range '
                                   f'{low}..{high}')
        self.runs = [dict(self.examples)]
        self.alternatives = {}
        for name in self.names:
            sizes = self._other_sizes(name)
            self.alternatives[name] = sizes
            for size in sizes:
                self.runs.append(dict(self.examples, **{name: size}))
        if len(self.names) > 1:
            self.runs.append({n: self.alternatives[n][0] for n in self.names})

    def _other_sizes(self, name):
        v, (low, high) = self.examples[name], self.ranges[name]
        sizes = []
        for size in (v + 1, 2 * v + 2, v + 2, v - 1, max(1, v // 2)):
            if low <= size <= high and size != v and size not in sizes:
                sizes.append(size)
        if len(sizes) < 2:
            raise ConvertError(f'dim {name}: its range {low}..{high} leaves fewer than two sizes besides the '
                               f'example {v} to trace it at; widen it with --dim {name}=LOW..HIGH')
        return sizes[:2]

    def label(self, run):
        return ', '.join(f'{n}={self.runs[run][n]}' for n in self.names)

    def index(self, name):
        return self.names.index(name)


def _fits(expr, sizes, spec):
    coef, factors, offset = expr
    for run, size in zip(spec.runs, sizes):
        value = coef
        for name, power in factors:
            value *= run[name] ** power
        if value + offset != size:
            return False
    return True


def fit(sizes, spec):
    """An expression (coef, ((name, power), ...), offset) that gives `sizes` (one per run), None when the
    size is the same in every run, or ('unchecked', names) when it depends on those dims in another way."""
    base = sizes[0]
    if all(s == base for s in sizes):
        return None
    used = [n for n in spec.names if any(sizes[r] != base for r, run in enumerate(spec.runs)
                                           if run[n] != spec.examples[n] and
                                           all(run[m] == spec.examples[m] for m in spec.names if m != n))]
    candidates = []
    if used:  # a monomial: each used dim to a power, times a constant
        powers = {}
        for name in used:
            v, others = spec.examples[name], spec.alternatives[name]
            run = next(r for r, values in enumerate(spec.runs) if values[name] == others[0] and
                       all(values[m] == spec.examples[m] for m in spec.names if m != name))
            powers[name] = next((p for p in range(1, MAX_POWER + 1) if base * others[0] ** p == sizes[run] * v ** p),
                                None)
        if all(p is not None for p in powers.values()):
            denominator = 1
            for name in used:
                denominator *= spec.examples[name] ** powers[name]
            if base % denominator == 0:
                candidates.append((base // denominator, tuple((n, powers[n]) for n in used), 0))
    if len(used) == 1:  # c * dim^p + k
        name = used[0]
        v, a = spec.examples[name], spec.alternatives[name][0]
        run = spec.runs.index(dict(spec.examples, **{name: a}))
        for p in range(1, MAX_POWER + 1):
            step = a ** p - v ** p
            if step and (sizes[run] - base) % step == 0:
                coef = (sizes[run] - base) // step
                candidates.append((coef, ((name, p),), base - coef * v ** p))
    for coef, factors, offset in candidates:
        if coef >= 1 and _fits((coef, factors, offset), sizes, spec):
            return coef, factors, offset
    names = used or [n for n in spec.names]
    return ('unchecked', tuple(names[:ifg.MAX_FACTORS]))


def code(graph, expr, spec):
    """The .ifg dim code of a fitted expression (added to graph.exprs once)."""
    if expr[0] == 'unchecked':
        return graph.new_expr(ifg.Expr(0, tuple((spec.index(n), 1) for n in expr[1]), 0, True))
    coef, factors, offset = expr
    return graph.expr(ifg.Expr(coef, tuple((spec.index(n), p) for n, p in factors), offset))


def is_unchecked(graph, dim):
    return dim <= -2 and graph.exprs[ifg.expr_index(dim)].unchecked


def product(graph, a, b):
    """The dim code of a * b for two dim codes (unchecked unless both are monomials or constants)."""
    if a >= 0 and b >= 0:
        return a * b
    if b >= 0:
        a, b = b, a
    y = graph.exprs[ifg.expr_index(b)]
    if a >= 0:
        if y.unchecked or y.offset:
            return graph.new_expr(ifg.Expr(0, tuple((s, 1) for s, _ in y.factors), 0, True))
        return graph.expr(ifg.Expr(y.coef * a, y.factors, 0)) if a else 0
    x = graph.exprs[ifg.expr_index(a)]
    powers = dict(x.factors)
    for s, p in y.factors:
        powers[s] = powers.get(s, 0) + p
    factors = tuple(sorted(powers.items()))
    if x.unchecked or y.unchecked or x.offset or y.offset or max(powers.values()) > MAX_POWER or \
            len(factors) > ifg.MAX_FACTORS:
        return graph.new_expr(ifg.Expr(0, tuple((s, 1) for s, _ in factors[:ifg.MAX_FACTORS]), 0, True))
    return graph.expr(ifg.Expr(x.coef * y.coef, factors, 0))
