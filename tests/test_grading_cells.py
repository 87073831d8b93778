"""How the grader reads a notebook cell (bplib/grading/cells.py).

The exercise generator, the classroom's release loader and its static scan
all find a cell's checks with ``check_calls``, and parse a cell (magics
allowed) with ``parse_cell``. The classroom tests reach them through whole
notebooks; these pin each rule on its own.
"""

import ast
import sys

from bplib.grading.cells import check_calls, parse_cell


def test_a_cell_with_magics_and_shell_escapes_parses_as_its_python():
    tree = parse_cell("%matplotlib inline\n!ls\nx = 1\n")
    assert [ast.unparse(stmt) for stmt in tree.body] == ["get_ipython().run_line_magic("
                                                         "'matplotlib', 'inline')",
                                                         "get_ipython().system('ls')",
                                                         "x = 1"]


def test_without_ipython_magics_and_shell_escapes_are_dropped(monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython.core.inputtransformer2", None)
    tree = parse_cell("%matplotlib inline\n  !ls\nx = 1\n")
    assert [ast.unparse(stmt) for stmt in tree.body] == ["x = 1"]


def test_a_cell_that_is_not_python_parses_as_none():
    assert parse_cell("def f(:\n") is None
    assert parse_cell("x = '\0'") is None  # a null byte: ValueError, not SyntaxError


def test_every_check_call_is_found_in_the_order_of_the_cell():
    source = ('r = check("relu_backward", relu_backward)\n'
              'if check("sigmoid_backward", mine.sigmoid_backward).passed:\n'
              '    print("ok")\n'
              'check("tanh_backward", lambda z, d: d)\n')
    assert check_calls(source) == [("relu_backward", "relu_backward"),
                                   ("sigmoid_backward", "mine.sigmoid_backward"),
                                   ("tanh_backward", "lambda z, d: d")]


def test_top_level_only_keeps_statements_and_assignments():
    source = ('check("relu_backward", relu_backward)\n'
              'r: object = check("tanh_backward", tanh_backward)\n'
              'ok = [check("sigmoid_backward", f)]\n'
              'if check("mse_loss", mse_loss).passed:\n'
              '    pass\n')
    assert check_calls(source, top_level_only=True) == [("relu_backward", "relu_backward"),
                                                        ("tanh_backward", "tanh_backward")]


def test_calls_that_are_not_checks_of_an_exercise_are_left_out():
    source = ('check("no_such_exercise", f)\n'
              'check("relu_backward")\n'
              'check(name, relu_backward)\n'
              'grading.check("relu_backward", relu_backward)\n'
              'verify("relu_backward", relu_backward)\n')
    assert check_calls(source) == []


def test_a_cell_with_a_syntax_error_falls_back_to_its_text():
    source = ('check("relu_backward", relu_backward)\n'
              'x = check("tanh_backward", tanh_backward)\n'
              'check("no_such_exercise", f)\n'
              'def broken(:\n')
    assert check_calls(source) == [("relu_backward", "relu_backward"),
                                   ("tanh_backward", "tanh_backward")]
    assert check_calls(source, top_level_only=True) == [("relu_backward", "relu_backward")]
    assert check_calls("(\ncheck('mse_loss', mine.mse_loss)", top_level_only=True) == \
        [("mse_loss", "mine.mse_loss")]


def test_checks_are_listed_in_the_order_their_exercise_ids_first_appear():
    """Not in the syntax tree's order (a check nested in an `if` comes after the
    top-level ones there), not by the expression's text, and an id mentioned again
    later (a comment) does not move its check."""
    source = ('if check("sigmoid_backward", mine.sig).passed:\n'
              '    pass\n'
              'check("relu_backward", r)  # after sigmoid_backward\n')
    assert check_calls(source) == [("sigmoid_backward", "mine.sig"), ("relu_backward", "r")]
