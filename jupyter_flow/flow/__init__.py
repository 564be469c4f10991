"""The flow model exported modules import."""

from .resources import Resources
from .spec import Flow, Foreach, Parameter, StepSpec

__all__ = ["Flow", "Foreach", "Parameter", "Resources", "StepSpec"]
