"""The certificate template's sandbox: Jinja's immutable sandbox (no attribute tricks, no
mutation of the variables) with bounds on what a template may cost.

An admin's template runs in the web process, so `{{ 9**9**9 }}`, `{{ 'x' * 10**9 }}`,
`{{ '%0999999999d' % 1 }}` or nested loops must not hang it or fill its memory: every loop
step counts against a budget per render, numbers, strings and lists may not grow past a size,
and the page's HTML is cut off when it grows too long. Past a bound the render stops with
`TemplateLimit`, which the editor reports with the template's line number."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_STEPS = 10_000  # loop iterations in one page
MAX_LENGTH = 100_000  # characters of a string, items of a list, width of a format
MAX_BITS = 1_024  # size of a whole number
MAX_OUTPUT = 1_000_000  # characters of one rendered page

_WIDTHS = re.compile(r"%[-+ #0]*(\d+|\*)?(?:\.(\d+|\*))?|\{[^{}]*:[^{}]*?(\d+)")


class TemplateLimit(TemplateError):
    """A template that would cost too much; `kind` says which bound it hit."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass
class _Budget:
    steps: int = 0


_budget: ContextVar[_Budget] = ContextVar("certificate_template_budget")


def _sized(value):
    if isinstance(value, str | bytes | list | tuple | dict | set) and len(value) > MAX_LENGTH:
        raise TemplateLimit("length")
    if isinstance(value, int) and value.bit_length() > MAX_BITS:
        raise TemplateLimit("number")
    return value


def _check_arguments(args: Iterable, kwargs: dict) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_LENGTH:
            raise TemplateLimit("argument")


def _check_format(text: str, args: Iterable) -> None:
    """`'%0999999999d' % 1` and `'{:>999999999}'.format(1)`: no width past MAX_LENGTH (a width
    given as an argument, `%*d`, is an argument and checked as one)."""
    for match in _WIDTHS.finditer(text):
        for width in match.groups():
            if width and width.isdigit() and int(width) > MAX_LENGTH:
                raise TemplateLimit("argument")
    _check_arguments(args if isinstance(args, tuple | list) else (args,), {})


def _bounded_filter(function):
    @functools.wraps(function)  # keeps jinja_pass_arg (context, environment, ...)
    def bounded(*args, **kwargs):
        _check_arguments(args[1:], kwargs)
        if function.__name__ == "do_format" and args and isinstance(args[0], str):
            _check_format(args[0], (*args[1:], *kwargs.values()))
        return _sized(function(*args, **kwargs))

    return bounded


class _BoundedCodeGenerator(CodeGenerator):
    """Every `{% for %}` steps through `environment.steps(...)`, every `~` is size-checked."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        node.iter = nodes.Call(nodes.EnvironmentAttribute("steps"), [node.iter], [], None, None)
        super().visit_For(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.sized(")
        super().visit_Concat(node, frame)
        self.write(")")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(autoescape=True, undefined=StrictUndefined)
        self.filters = {name: _bounded_filter(f) for name, f in self.filters.items()}
        self.globals["range"] = self.range

    @staticmethod
    def range(*args: int) -> range:
        steps = range(*args)
        if len(steps) > MAX_STEPS:
            raise TemplateLimit("steps")
        return steps

    @staticmethod
    def steps(iterable) -> Iterator:
        budget = _budget.get()
        for item in iterable:
            budget.steps += 1
            if budget.steps > MAX_STEPS:
                raise TemplateLimit("steps")
            yield item

    @staticmethod
    def sized(value):
        return _sized(value)

    def call_binop(self, context, operator: str, left, right):
        if operator == "**" and isinstance(left, int) and isinstance(right, int):
            if right > 0 and abs(left) > 1 and right * abs(left).bit_length() > MAX_BITS:
                raise TemplateLimit("number")
        elif operator == "*":
            for count, other in ((left, right), (right, left)):
                repeated = isinstance(count, int) and isinstance(other, str | list | tuple)
                if repeated and count * len(other) > MAX_LENGTH:
                    raise TemplateLimit("length")
            numbers = isinstance(left, int) and isinstance(right, int)
            if numbers and left.bit_length() + right.bit_length() > MAX_BITS:
                raise TemplateLimit("number")
        elif operator == "%" and isinstance(left, str):
            _check_format(left, right)
        return _sized(super().call_binop(context, operator, left, right))

    def call(__self, __context, __obj, *args, **kwargs):
        _check_arguments(args, kwargs)
        if getattr(__obj, "__name__", None) in ("format", "format_map"):
            # the sandbox hands out str.format wrapped (functools.update_wrapper)
            owner = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
            if isinstance(owner, str):
                _check_format(owner, (*args, *kwargs.values()))
        return _sized(super().call(__context, __obj, *args, **kwargs))


sandbox = BoundedSandbox()


def render(source: str, variables: dict) -> str:
    """`source` rendered with `variables` within the bounds (raises TemplateError, TemplateLimit
    included, or whatever the template's own expressions raise, e.g. ZeroDivisionError)."""
    token = _budget.set(_Budget())
    try:
        out, size = [], 0
        for chunk in sandbox.from_string(source).generate(variables):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateLimit("output")
            out.append(chunk)
        return "".join(out)
    finally:
        _budget.reset(token)
