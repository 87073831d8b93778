"""bplib: the reference library of the bplib backpropagation course.

    bplib.functional  one pure function per operation, forward and backward
    bplib.nn          layers, losses, a sequential Network and its training loop
    bplib.models      the lessons' small networks written out by hand
    bplib.gradcheck   numerical gradients and gradient checking
    bplib.autodiff    a tiny scalar autodiff and its graph drawing
    bplib.datasets    seeded toy datasets
    bplib.plotting    loss curves, decision regions, gradient-check plots
    bplib.widgets     the lessons' interactive explorers
    bplib.grading     the exercises' automatic checks
    bplib.classroom   grading a class's submitted notebooks (`bplib grade`)
    bplib.notebooks   exercises made from solutions, notebooks executed
"""

__version__ = "0.2.0"
