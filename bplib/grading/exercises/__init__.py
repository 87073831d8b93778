"""The exercises, one module per lesson: trials, requirements, mistakes and the
Exercise entry of each exercise together (see common.py for the machinery)."""

from bplib.grading.exercises import (lesson01, lesson02, lesson03, lesson04, lesson05, lesson06,
                                     lesson07, lesson08, lesson09, lesson10, lesson11, lesson12)
from bplib.grading.exercises.common import EVERY_TRIAL, Exercise, Requirement, Trial

EXERCISE_LIST = [
    lesson01.NUMERICAL_GRADIENT,
    lesson03.NEURON_BACKWARD,
    lesson06.RELU_BACKWARD,
    lesson06.SIGMOID_BACKWARD,
    lesson06.TANH_BACKWARD,
    lesson07.SOFTMAX_BACKWARD,
    lesson05.DENSE_BACKWARD,
    lesson07.MSE_LOSS,
    lesson08.BINARY_CROSS_ENTROPY,
    lesson07.SOFTMAX_CROSS_ENTROPY,
    lesson09.MLP_BACKPROP,
    lesson08.SIGMOID_NET_BACKPROP,
    lesson04.TINY_NET_BACKPROP,
    lesson11.RELATIVE_ERROR,
    # added with issue 10, in lesson order
    lesson02.VALUE,
    lesson05.DENSE_LAYER,
    lesson06.ELU_BACKWARD,
    lesson06.GELU_BACKWARD,
    lesson09.SGD_MOMENTUM_STEP,
    lesson10.DEEP_BACKPROP,
    lesson10.BATCHNORM_BACKWARD,
    lesson12.DIGITS_NETWORK,
]

__all__ = ["EXERCISE_LIST", "Exercise", "Requirement", "Trial", "EVERY_TRIAL"]
