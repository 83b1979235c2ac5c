"""Build a class up over several notebook cells, one method (and one explanation) at a time.

Taught in lesson 02 (``notebooks/02_autograd.ipynb``), section 2, where the scalar
autodiff engine ``Value`` grows from its data fields to its operations and then to
``backward()``; section 3 builds its array twin ``Tensor`` the same way. The idea is
d2l's ``add_to_class``.
"""

from __future__ import annotations


def add_to_class(cls):
    """Return a decorator that attaches the decorated function to ``cls`` as a method.

    The function keeps its name (``@add_to_class(Value)`` over ``def __add__`` gives
    ``Value.__add__``); objects made before the decoration gain the method too, since
    Python looks methods up on the class at every call. The decorator returns the
    function unchanged.
    """

    def attach(function):
        setattr(cls, function.__name__, function)
        return function

    return attach
