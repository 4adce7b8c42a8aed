"""Preprocessors mirroring ``ray.data.preprocessors``: fit statistics with one aggregation pass,
transform with a fused ``map_batches``."""

from streamscope.preprocessors.base import Preprocessor, PreprocessorNotFittedException
from streamscope.preprocessors.categorical import Categorizer, MultiHotEncoder
from streamscope.preprocessors.concatenator import Chain, Concatenator
from streamscope.preprocessors.discretizer import CustomKBinsDiscretizer, UniformKBinsDiscretizer
from streamscope.preprocessors.encoder import LabelEncoder, OneHotEncoder, OrdinalEncoder
from streamscope.preprocessors.hasher import FeatureHasher
from streamscope.preprocessors.imputer import SimpleImputer
from streamscope.preprocessors.normalizer import Normalizer
from streamscope.preprocessors.scaler import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler
from streamscope.preprocessors.tokenizer import Tokenizer
from streamscope.preprocessors.transformer import PowerTransformer
from streamscope.preprocessors.vectorizer import CountVectorizer, HashingVectorizer
from streamscope.preprocessors.vision import TorchVisionPreprocessor

__all__ = [
    "Preprocessor", "PreprocessorNotFittedException", "Categorizer", "Chain", "Concatenator", "CountVectorizer",
    "CustomKBinsDiscretizer", "FeatureHasher", "HashingVectorizer", "LabelEncoder", "MaxAbsScaler", "MinMaxScaler",
    "MultiHotEncoder", "Normalizer", "OneHotEncoder", "OrdinalEncoder", "PowerTransformer", "RobustScaler",
    "SimpleImputer", "StandardScaler", "Tokenizer", "TorchVisionPreprocessor", "UniformKBinsDiscretizer",
]
