"""The seed's feature model as data: every switch and parameter, its default, its rules.

This table is the single source of truth for the ``explain:features`` config object: the pydantic
model, the requires/excludes checks and the README's config reference are all generated from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional

import pydantic

from .errors import ConfigIssue, config_rm, config_set

FEATURES_KEY = "explain:features"

XAI_ALGORITHMS = ("DIP_VAE", "ProtoDash", "LIME", "SHAP", "XRAI", "ProfWeight", "CEM", "CEM_MAF", "TED")
MODEL_SELECTION_KINDS = ("Conventional", "NN")


@dataclass(frozen=True)
class FeatureSpec:
    key: str
    group: str
    seed_field: str
    effect: str
    requires: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    default: Any = False
    choices: tuple[str, ...] = ()
    minimum: Optional[int] = None
    maximum: Optional[int] = None

    @property
    def is_switch(self) -> bool:
        return isinstance(self.default, bool)

    @property
    def type_name(self) -> str:
        if self.is_switch:
            return "boolean"
        if self.choices:
            return "one of " + ", ".join(f"`{choice}`" for choice in self.choices)
        return f"integer {self.minimum}–{self.maximum}"

    @property
    def config_key(self) -> str:
        return f"{FEATURES_KEY}.{self.key}"


def snake_case(key: str) -> str:
    """``memorySize`` → ``memory_size``: config keys are camelCase, model fields snake_case."""
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in key)


def _switch(key: str, group: str, seed_field: str, effect: str, *, requires=(), excludes=()) -> FeatureSpec:
    return FeatureSpec(key, group, seed_field, effect, tuple(requires), tuple(excludes))


_STREAM_TRANSFORMS = (
    ("dataCleaning", "data_cleaning"),
    ("dimensionalityModification", "dimensionality_modification"),
    ("sampling", "sampling"),
    ("featureSelection", "feature_selection"),
    ("axisRotation", "axis_rotation"),
    ("typeTransformation", "type_transformation"),
    ("oneHotCoding", "one_hot_coding"),
    ("dropDuplicates", "drop_duplicates"),
    ("removeEmptyValues", "remove_empty_values"),
    ("viterbiAlgorithm", "viterbi_algorithm"),
    ("meanshift", "meanshift"),
    ("camshift", "camshift"),
    ("opticalFlow", "optical_flow"),
    ("backgroundSubstraction", "background_substraction"),
)

_CLUSTERS = ("cpuCluster", "gpuCluster", "tpuCluster", "fpgaCluster")

FEATURES: tuple[FeatureSpec, ...] = (
    # Serving
    _switch("modelSerialization", "Serving", "model_serialization",
            "models are serialized in MLflow model format by the generated code"),
    _switch("packagingAndContainerization", "Serving", "packaging_and_containerization",
            "trained models packaged as serving images / MLflow model servers", requires=["modelSerialization"]),
    _switch("workflowOrchestration", "Serving", "workflow_orchestration",
            "Airflow (seed port 8080)", requires=["packagingAndContainerization"]),
    _switch("serveModelPipelines", "Serving", "serve_model_pipelines",
            "the ML-serving workspace where pipeline code runs (`ml-serving`, 8050)"),
    _switch("mlModelServing", "Serving", "ml_model_serving",
            "an inference endpoint for the selected model", requires=["serveModelPipelines"]),
    _switch("xaiServing", "Serving", "xai_serving", "XAI serving workspace (`xai-serving`, 8040)"),
    # Model building
    _switch("developmentIde", "Model building", "development_ide", "JupyterLab (`jupyter-service`, 80)"),
    _switch("modelSelection", "Model building", "model_selection", "generated code compares candidate models"),
    _switch("userGuidedModelSelection", "Model building", "user_guided_model_selection_activation",
            "interactive model selection app on the live stream", requires=["modelSelection", "dataStreaming"]),
    FeatureSpec("userGuidedModelSelectionKind", "Model building", "user_guided_model_selection",
                "candidate model family: classical (ARIMA, XGBoost, random forest) or neural (LSTM, GRU / CNN)",
                requires=("userGuidedModelSelection",), default="Conventional", choices=MODEL_SELECTION_KINDS),
    _switch("modelTrainingAndUpdate", "Model building", "model_training_and_update",
            "training (and retraining) jobs", requires=["modelSelection"]),
    _switch("modelVisualizationForEvaluation", "Model building", "model_visualization_for_evaluation",
            "evaluation plots logged with each run", requires=["modelSelection"]),
    _switch("xaiSelection", "Model building", "xai_selection", "explanation methods are generated",
            requires=["modelSelection"]),
    FeatureSpec("xaiAlgorithm", "Model building", "xai_algorithm", "which explainer the generated code uses",
                requires=("xaiSelection",), default="SHAP", choices=XAI_ALGORITHMS),
    _switch("xaiDataConversion", "Model building", "XAI_data_conversion",
            "data converted to the explainer's input form", requires=["xaiSelection"]),
    _switch("xaiTraining", "Model building", "xai_training", "explainer fitted as a pipeline step",
            requires=["xaiSelection"]),
    _switch("visualizeExplanations", "Model building", "visualize_explanations", "explanation plots",
            requires=["xaiSelection"]),
    _switch("automl", "Model building", "automl", "automatic model search step", requires=["modelTrainingAndUpdate"]),
    _switch("hyperparameterTuning", "Model building", "hyperparameter_tuning", "hyperparameter search step",
            requires=["modelTrainingAndUpdate"]),
    # Data management
    _switch("dataCollection", "Data management", "data_collection",
            "data ingestion step (sample data into the data repository)"),
    _switch("dataLabeling", "Data management", "data_labeling", "Label Studio (seed port 8080)",
            requires=["dataCollection"]),
    _switch("mlFeatureExtraction", "Data management", "ml_feature_extraction", "feature extraction step"),
    _switch("dataPreparation", "Data management", "data_preparation",
            "preparation step (scaling, splitting, sequencing)"),
    _switch("dataVisualization", "Data management", "data_visualization", "data plots"),
    _switch("dataStreaming", "Data management", "data_streaming", "streaming consumer in the generated code"),
    _switch("liveDataAndDriftSimulation", "Data management", "live_data_and_drift_simulation",
            "live data and drift simulator (`data-streaming-service`, 5020; variant by dataType)",
            requires=["dataStreaming"]),
    _switch("timeSeriesLiveDataUi", "Data management", "time_series_live_data_ui",
            "UI of the time-series simulator", requires=["liveDataAndDriftSimulation"]),
    _switch("imageLiveDataUi", "Data management", "image_live_data_ui",
            "the image drift detection UI", requires=["liveDataAndDriftSimulation"]),
    *(
        _switch(key, "Data management", seed_field, "transformation applied to the stream by the generated code",
                requires=["dataStreaming"])
        for key, seed_field in _STREAM_TRANSFORMS
    ),
    # Versioning
    _switch("dataRepository", "Versioning", "data_repository", "a data repository"),
    _switch("s3TypeDatabase", "Versioning", "s3_type_database", "MinIO (`minio` 9000, `minio-console` 9001)",
            requires=["dataRepository"]),
    FeatureSpec("memorySize", "Versioning", "memory_size", "MinIO memory request, in MB",
                requires=("s3TypeDatabase",), default=512, minimum=128, maximum=262144),
    _switch("codeRepository", "Versioning", "code_repository", "Gitea git server (seed ports 3000, 22)"),
    _switch("featureStore", "Versioning", "feature_store", "a feature store"),
    _switch("containerRegistry", "Versioning", "container_registry", "an in-cluster container registry"),
    # Observability
    _switch("monitoring", "Observability", "monitoring", "the monitoring service (`evidently-service`, 8000)"),
    _switch("driftDetection", "Observability", "drift_detection", "drift reports on live data",
            requires=["monitoring"]),
    _switch("explanatoryMonitoring", "Observability", "explanatory_monitoring",
            "explanations attached to monitoring", requires=["monitoring"]),
    _switch("testing", "Observability", "testing", "model testing"),
    _switch("mlPerformanceGui", "Observability", "ml_performance_gui", "a GUI of model performance",
            requires=["testing"]),
    _switch("liveTesting", "Observability", "live_testing", "testing on the live stream", requires=["testing"]),
    _switch("incrementalExplanatoryTraining", "Observability", "incremental_explanatory_training",
            "the XAI and feedback UI (`feedback-ui-service`, 3000)"),
    _switch("inferenceFeedbackGuiForImage", "Observability", "inference_feedback_gui_for_image",
            "inference feedback GUI for images", requires=["incrementalExplanatoryTraining"]),
    _switch("xaiFeedbackGuiForImage", "Observability", "xai_feedback_gui_for_image",
            "XAI feedback GUI for images", requires=["inferenceFeedbackGuiForImage"]),
    _switch("inferenceFeedbackGuiForTimeSeries", "Observability", "inference_feedback_gui_for_time_series",
            "inference feedback GUI for time series", requires=["incrementalExplanatoryTraining"]),
    _switch("xaiFeedbackGuiForTimeSeries", "Observability", "xai_feedback_gui_for_time_series",
            "XAI feedback GUI for time series", requires=["inferenceFeedbackGuiForTimeSeries"]),
    # Training-hardware provisioning: the four cluster kinds exclude each other.
    *(
        _switch(key, "Training-hardware provisioning", snake_case(key),
                f"training jobs scheduled on {key.replace('Cluster', '').upper()} nodes",
                excludes=[other for other in _CLUSTERS if other != key])
        for key in _CLUSTERS
    ),
)

FEATURES_BY_KEY: dict[str, FeatureSpec] = {spec.key: spec for spec in FEATURES}


def _bool_text(value: Any) -> Any:
    """Pulumi hands a top-level boolean to the program as the text `true` or `false`; those two mean it."""
    return {"true": True, "false": False}.get(value.lower(), value) if isinstance(value, str) else value


ConfigBool = Annotated[pydantic.StrictBool, pydantic.BeforeValidator(_bool_text)]
"""A boolean of the config: true or false, or their text; `yes`, `on`, `1` are refused, not guessed."""


def _field_type(spec: FeatureSpec) -> Any:
    if spec.is_switch:
        return ConfigBool
    if spec.choices:
        return Literal[spec.choices]  # type: ignore[valid-type]
    return pydantic.conint(strict=True, ge=spec.minimum, le=spec.maximum)


class _FeaturesBase(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    def enabled(self, key: str) -> bool:
        """Whether the switch ``key`` (camelCase, as in the stack config) is on."""
        return bool(getattr(self, snake_case(key)))

    def as_config(self) -> dict[str, Any]:
        """The effective feature set, keyed as in the stack config."""
        return self.model_dump(by_alias=True)


Features = pydantic.create_model(
    "Features",
    __base__=_FeaturesBase,
    __doc__="Every switch and parameter of the feature model (``explain:features``).",
    **{
        snake_case(spec.key): (
            _field_type(spec),
            pydantic.Field(default=spec.default, alias=spec.key, description=spec.effect),
        )
        for spec in FEATURES
    },
)


def check_feature_rules(features: _FeaturesBase) -> list[ConfigIssue]:
    """Every requires/excludes rule of the feature model that ``features`` breaks."""
    issues: list[ConfigIssue] = []
    for spec in FEATURES:
        if spec.is_switch:
            active = features.enabled(spec.key)
        else:
            # A parameter only counts when the user set it to another value than its default.
            active = _is_set(features, spec)
        if not active:
            continue
        missing = [required for required in spec.requires if not features.enabled(required)]
        if missing:
            needs = " and ".join(f"`{key}`" for key in missing)
            what = "is on" if spec.is_switch else "is set"
            # The fix turns on the whole chain, so that following it gives a valid config at once.
            chain = [key for key in requirements_of(spec.key) if not features.enabled(key)]
            turn_on = "; ".join(config_set(FEATURES_BY_KEY[key].config_key, True) for key in chain)
            # Turning it off turns off what is on because of it, so that the alternative works too.
            turn_off = "; ".join(_switched_off(features, FEATURES_BY_KEY[key])
                                 for key in [spec.key, *dependents_of(spec.key)]
                                 if key == spec.key or _is_active(features, FEATURES_BY_KEY[key]))
            issues.append(ConfigIssue(
                key=spec.config_key,
                rule=f"`{spec.key}` {what} but requires {needs}, which {'is' if len(missing) == 1 else 'are'} off",
                fix=f"{turn_on}   (or: {turn_off})",
            ))
        if spec.is_switch:
            for excluded in spec.excludes:
                # Report each conflicting pair once, at its first member.
                if features.enabled(excluded) and _order(spec.key) < _order(excluded):
                    issues.append(ConfigIssue(
                        key=spec.config_key,
                        rule=f"`{spec.key}` excludes `{excluded}`, and both are on (only one kind of training "
                             f"cluster can be chosen)",
                        fix=f"{config_set(FEATURES_BY_KEY[excluded].config_key, False)}   "
                            f"(or: {config_set(spec.config_key, False)})",
                    ))
    return issues


def _is_set(features: _FeaturesBase, spec: FeatureSpec) -> bool:
    field = snake_case(spec.key)
    return field in features.model_fields_set and getattr(features, field) != spec.default


def _is_active(features: _FeaturesBase, spec: FeatureSpec) -> bool:
    return features.enabled(spec.key) if spec.is_switch else _is_set(features, spec)


def _switched_off(features: _FeaturesBase, spec: FeatureSpec) -> str:
    return config_set(spec.config_key, False) if spec.is_switch else config_rm(spec.config_key)


def dependents_of(key: str) -> list[str]:
    """Every feature that needs ``key``, directly or through another, in the feature model's order."""
    needing = {key}
    while True:
        more = {spec.key for spec in FEATURES if spec.key not in needing and needing.intersection(spec.requires)}
        if not more:
            return [spec.key for spec in FEATURES if spec.key in needing and spec.key != key]
        needing |= more


def requirements_of(key: str) -> list[str]:
    """Every switch ``key`` needs, directly or through another, nearest first."""
    chain: list[str] = []
    pending = list(FEATURES_BY_KEY[key].requires)
    while pending:
        required = pending.pop(0)
        if required not in chain:
            chain.append(required)
            pending.extend(FEATURES_BY_KEY[required].requires)
    return chain


def _order(key: str) -> int:
    return [spec.key for spec in FEATURES].index(key)
