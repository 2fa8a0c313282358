"""A TF-IDF logistic-regression intent classifier.

Rasa's own LogisticRegressionClassifier learns from raw n-gram counts with a fixed
regularisation; on our short, misspelt messages TF-IDF weighting (sublinear, normalised)
and a weaker regularisation recognise intents better (5-fold cross-validated macro-F1
0.94 against 0.91) and train in seconds. Matches of the training data's regexes and
lookup tables become extra words ("__blood_pressure__"), so "142/91" means a reading
whatever the numbers.

With Spanish beside English (one model for both, README "Languages"), accents are ignored
(patients write "recuérdame" and "recuerdame" alike) and the regularisation is weaker still
(C 300 rather than 30): Spanish 5-fold cross-validated macro-F1 0.927 against 0.919,
English 0.934 either way (a replica of this component in scikit-learn, same folds).
"""

from __future__ import annotations

import re
from typing import Any

import joblib
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline, make_union

MODEL_FILE = "intent_classifier.joblib"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class TfidfIntentClassifier(IntentClassifier, GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"C": 300.0, "word_ngrams": [1, 2], "char_ngrams": [1, 5], "ranking_length": 10,
                "random_state": 7}

    def __init__(self, config: dict[str, Any], storage: ModelStorage, resource: Resource,
                 pipeline: Pipeline | None = None, patterns: list[tuple[str, str]] | None = None
                 ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._storage, self._resource = storage, resource
        self.pipeline = pipeline
        self._use_patterns(patterns or [])

    def _use_patterns(self, patterns: list[tuple[str, str]]) -> None:
        self.patterns = patterns
        self._compiled = [(name, re.compile(p, re.IGNORECASE)) for name, p in patterns]

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> TfidfIntentClassifier:
        return cls(config, model_storage, resource)

    def _text(self, message: Message) -> str:
        text = str(message.get(TEXT) or "")
        return text + "".join(f" __{name}__" for name, rx in self._compiled if rx.search(text))

    def train(self, training_data: TrainingData) -> Resource:
        self._use_patterns(
            [(p["name"], p["pattern"]) for p in training_data.regex_features]
            + [(t["name"], rf"\b(?:{'|'.join(map(re.escape, t['elements']))})\b")
               for t in training_data.lookup_tables])
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        words, chars = self.config["word_ngrams"], self.config["char_ngrams"]
        self.pipeline = make_pipeline(
            make_union(TfidfVectorizer(sublinear_tf=True, ngram_range=tuple(words),
                                       token_pattern=r"(?u)\b\w+\b", strip_accents="unicode"),
                       TfidfVectorizer(sublinear_tf=True, analyzer="char_wb",
                                       ngram_range=tuple(chars), strip_accents="unicode")),
            LogisticRegression(C=self.config["C"], class_weight="balanced", max_iter=3000,
                               random_state=self.config["random_state"]))
        self.pipeline.fit([self._text(e) for e in examples], [e.get(INTENT) for e in examples])
        with self._storage.write_to(self._resource) as folder:
            joblib.dump({"pipeline": self.pipeline, "patterns": self.patterns},
                        folder / MODEL_FILE)
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> TfidfIntentClassifier:
        # Our own file, written by `train` above into the model archive.
        with model_storage.read_from(resource) as folder:
            saved = joblib.load(folder / MODEL_FILE)
        return cls(config, model_storage, resource, saved["pipeline"], saved["patterns"])

    def process(self, messages: list[Message]) -> list[Message]:
        if self.pipeline is None or not messages:
            return messages
        classes = self.pipeline.classes_
        probabilities = self.pipeline.predict_proba([self._text(m) for m in messages])
        for message, row in zip(messages, probabilities, strict=True):
            ranking = sorted(({"name": str(name), "confidence": float(p)}
                              for name, p in zip(classes, row, strict=True)),
                             key=lambda item: -item["confidence"])
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking[: self.config["ranking_length"]],
                        add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data
