"""Preprocessors mirroring ``ray.data.preprocessors``: fit statistics with one aggregation pass,
transform with a fused ``map_batches``."""

from streamscope.preprocessors.base import Preprocessor, PreprocessorNotFittedException
from streamscope.preprocessors.concatenator import Chain, Concatenator
from streamscope.preprocessors.encoder import LabelEncoder, OneHotEncoder, OrdinalEncoder
from streamscope.preprocessors.imputer import SimpleImputer
from streamscope.preprocessors.scaler import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler

__all__ = [
    "Preprocessor", "PreprocessorNotFittedException", "Chain", "Concatenator", "LabelEncoder", "OneHotEncoder",
    "OrdinalEncoder", "SimpleImputer", "MaxAbsScaler", "MinMaxScaler", "RobustScaler", "StandardScaler",
]
