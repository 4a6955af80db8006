"""A scalar engine with a rule table, and three slips in its powers.

Each node records the name of its op; the chain rule of every op is a function
registered in the `RULES` table with the `@rule` decorator, called with the node and its
operands. `backward()` is iterative (explicit stack) and resets interior nodes.

Intended defects (``E`` is this module):

1. pow-exponent-missing-log (`RULES["pow_vv"]`, `x ** y` with a Value exponent):
   d(x**y)/dy is written ``x**y`` instead of ``x**y * log(x)``. Invisible where
   log(x) = 1 (x = e); wrong everywhere else, by a factor 1/log(x).
   ``x = E.Value(2.0); y = E.Value(3.0); (x ** y).backward(); print(y.grad)`` prints
   8.0; the truth is 5.545177444479562.
2. rpow-missing-log (`RULES["rpow"]`, ``c ** x``): the same slip, d(c**x)/dx written
   ``c**x`` instead of ``c**x * log(c)``.
   ``y = E.Value(3.0); (2.0 ** y).backward(); print(y.grad)`` prints 8.0; the truth is
   5.545177444479562.
3. fractional-pow-divides-by-x (`RULES["pow_vc"]`): for a non-integer exponent the
   derivative is computed as ``p * x**p / x`` (to save a second pow), which raises
   ZeroDivisionError at x = 0, where x**2.5 has the finite derivative 0.
   ``x = E.Value(0.0); (x ** 2.5).backward(); print(x.grad)`` raises ZeroDivisionError;
   the truth is 0.0.
"""

import math

RULES = {}


def rule(name):
    def register(f):
        RULES[name] = f
        return f

    return register


class Value:
    def __init__(self, data, args=(), op=None, extra=None):
        self.data = float(data)
        self.grad = 0.0
        self.args = args
        self.op = op
        self.extra = extra

    def __repr__(self):
        return f"Value({self.data!r})"

    @staticmethod
    def box(x):
        return x if isinstance(x, Value) else Value(x)

    def __add__(self, o):
        o = Value.box(o)
        return Value(self.data + o.data, (self, o), "add")

    def __sub__(self, o):
        o = Value.box(o)
        return Value(self.data - o.data, (self, o), "sub")

    def __mul__(self, o):
        o = Value.box(o)
        return Value(self.data * o.data, (self, o), "mul")

    def __truediv__(self, o):
        o = Value.box(o)
        return Value(self.data / o.data, (self, o), "div")

    def __radd__(self, o):
        return Value.box(o) + self

    def __rsub__(self, o):
        return Value.box(o) - self

    def __rmul__(self, o):
        return Value.box(o) * self

    def __rtruediv__(self, o):
        return Value.box(o) / self

    def __neg__(self):
        return Value(-self.data, (self,), "neg")

    def __pow__(self, o):
        if isinstance(o, Value):
            return Value(self.data**o.data, (self, o), "pow_vv")
        return Value(self.data**o, (self,), "pow_vc", o)

    def __rpow__(self, base):
        return Value(base**self.data, (self,), "rpow", base)

    def exp(self):
        return Value(math.exp(self.data), (self,), "exp")

    def log(self):
        return Value(math.log(self.data), (self,), "log")

    def tanh(self):
        return Value(math.tanh(self.data), (self,), "tanh")

    def relu(self):
        return Value(self.data if self.data > 0 else 0.0, (self,), "relu")

    def backward(self):
        order, mark = [], {}
        stack = [self]
        while stack:
            v = stack.pop()
            if mark.get(id(v)) == "done":
                continue
            if mark.get(id(v)) == "open":
                mark[id(v)] = "done"
                order.append(v)
                continue
            mark[id(v)] = "open"
            stack.append(v)
            stack.extend(a for a in v.args if id(a) not in mark)
        for v in order:
            if v.args:
                v.grad = 0.0
        self.grad = 1.0
        for v in reversed(order):
            if v.op is not None:
                RULES[v.op](v, *v.args)


@rule("add")
def _add(out, a, b):
    a.grad += out.grad
    b.grad += out.grad


@rule("sub")
def _sub(out, a, b):
    a.grad += out.grad
    b.grad -= out.grad


@rule("mul")
def _mul(out, a, b):
    a.grad += b.data * out.grad
    b.grad += a.data * out.grad


@rule("div")
def _div(out, a, b):
    a.grad += out.grad / b.data
    b.grad -= out.grad * out.data / b.data


@rule("neg")
def _neg(out, a):
    a.grad -= out.grad


@rule("pow_vc")
def _pow_vc(out, a):
    p = out.extra
    if p == 0:
        return
    if float(p).is_integer():
        a.grad += p * a.data ** (p - 1) * out.grad
    else:
        a.grad += p * out.data / a.data * out.grad


@rule("pow_vv")
def _pow_vv(out, a, b):
    a.grad += b.data * a.data ** (b.data - 1) * out.grad
    b.grad += out.data * out.grad


@rule("rpow")
def _rpow(out, a):
    a.grad += out.data * out.grad


@rule("exp")
def _exp(out, a):
    a.grad += out.data * out.grad


@rule("log")
def _log(out, a):
    a.grad += out.grad / a.data


@rule("tanh")
def _tanh(out, a):
    a.grad += (1.0 - out.data * out.data) * out.grad


@rule("relu")
def _relu(out, a):
    if a.data > 0:
        a.grad += out.grad
