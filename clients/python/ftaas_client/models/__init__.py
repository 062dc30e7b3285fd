"""Contains all the data models used in inputs/outputs"""

from .assistant_message import AssistantMessage
from .chat_choice import ChatChoice
from .chat_choice_finish_reason import ChatChoiceFinishReason
from .chat_completion import ChatCompletion
from .chat_completion_request import ChatCompletionRequest
from .chat_completion_request_logit_bias_type_0 import ChatCompletionRequestLogitBiasType0
from .chat_completion_request_response_format_type_0 import ChatCompletionRequestResponseFormatType0
from .chat_message import ChatMessage
from .chat_message_role import ChatMessageRole
from .checkpoint_metrics import CheckpointMetrics
from .checkpoint_permission_deleted import CheckpointPermissionDeleted
from .checkpoint_permission_list import CheckpointPermissionList
from .checkpoint_permission_object import CheckpointPermissionObject
from .choice_logprobs import ChoiceLogprobs
from .completion import Completion
from .completion_choice import CompletionChoice
from .completion_choice_finish_reason_type_1 import CompletionChoiceFinishReasonType1
from .completion_choice_finish_reason_type_2_type_1 import CompletionChoiceFinishReasonType2Type1
from .completion_choice_finish_reason_type_3_type_1 import CompletionChoiceFinishReasonType3Type1
from .completion_logprobs import CompletionLogprobs
from .completion_logprobs_top_logprobs_type_0_item import CompletionLogprobsTopLogprobsType0Item
from .completion_request import CompletionRequest
from .completion_request_logit_bias_type_0 import CompletionRequestLogitBiasType0
from .compute import Compute
from .compute_num_proc_per_node_type_0 import ComputeNumProcPerNodeType0
from .compute_strategy import ComputeStrategy
from .dpo_hyperparameters import DpoHyperparameters
from .dpo_hyperparameters_batch_size_type_0 import DpoHyperparametersBatchSizeType0
from .dpo_hyperparameters_beta_type_0 import DpoHyperparametersBetaType0
from .dpo_hyperparameters_class_weights_type_1 import DpoHyperparametersClassWeightsType1
from .dpo_hyperparameters_class_weights_type_2_type_1 import DpoHyperparametersClassWeightsType2Type1
from .dpo_hyperparameters_class_weights_type_3_type_1 import DpoHyperparametersClassWeightsType3Type1
from .dpo_hyperparameters_gradient_checkpointing_type_0 import DpoHyperparametersGradientCheckpointingType0
from .dpo_hyperparameters_learning_rate_multiplier_type_0 import DpoHyperparametersLearningRateMultiplierType0
from .dpo_hyperparameters_lr_scheduler import DpoHyperparametersLrScheduler
from .dpo_hyperparameters_max_seq_length_type_0 import DpoHyperparametersMaxSeqLengthType0
from .dpo_hyperparameters_n_epochs_type_0 import DpoHyperparametersNEpochsType0
from .dpo_method import DpoMethod
from .early_stopping import EarlyStopping
from .error_body import ErrorBody
from .error_detail import ErrorDetail
from .file_deleted import FileDeleted
from .file_list import FileList
from .file_object import FileObject
from .file_object_status import FileObjectStatus
from .file_upload import FileUpload
from .fine_tuning_job import FineTuningJob
from .fine_tuning_job_checkpoint import FineTuningJobCheckpoint
from .fine_tuning_job_checkpoint_list import FineTuningJobCheckpointList
from .fine_tuning_job_estimate import FineTuningJobEstimate
from .fine_tuning_job_event import FineTuningJobEvent
from .fine_tuning_job_event_data import FineTuningJobEventData
from .fine_tuning_job_event_level import FineTuningJobEventLevel
from .fine_tuning_job_event_list import FineTuningJobEventList
from .fine_tuning_job_event_type import FineTuningJobEventType
from .fine_tuning_job_list import FineTuningJobList
from .fine_tuning_job_metadata_type_0 import FineTuningJobMetadataType0
from .fine_tuning_job_method import FineTuningJobMethod
from .fine_tuning_job_status import FineTuningJobStatus
from .fine_tuning_job_stream_message import FineTuningJobStreamMessage
from .fine_tuning_job_stream_message_event import FineTuningJobStreamMessageEvent
from .fine_tuning_job_training_type import FineTuningJobTrainingType
from .freeze import Freeze
from .full_training import FullTraining
from .gradual_unfreezing import GradualUnfreezing
from .healthz_response_200 import HealthzResponse200
from .hyperparameters import Hyperparameters
from .hyperparameters_batch_size_type_0 import HyperparametersBatchSizeType0
from .hyperparameters_class_weights_type_1 import HyperparametersClassWeightsType1
from .hyperparameters_class_weights_type_2_type_1 import HyperparametersClassWeightsType2Type1
from .hyperparameters_class_weights_type_3_type_1 import HyperparametersClassWeightsType3Type1
from .hyperparameters_gradient_checkpointing_type_0 import HyperparametersGradientCheckpointingType0
from .hyperparameters_learning_rate_multiplier_type_0 import HyperparametersLearningRateMultiplierType0
from .hyperparameters_lr_scheduler import HyperparametersLrScheduler
from .hyperparameters_max_seq_length_type_0 import HyperparametersMaxSeqLengthType0
from .hyperparameters_n_epochs_type_0 import HyperparametersNEpochsType0
from .hyperparameters_object import HyperparametersObject
from .hyperparameters_object_batch_size_type_1 import HyperparametersObjectBatchSizeType1
from .hyperparameters_object_learning_rate_multiplier_type_1 import HyperparametersObjectLearningRateMultiplierType1
from .hyperparameters_object_n_epochs_type_1 import HyperparametersObjectNEpochsType1
from .ia_3_training import Ia3Training
from .ia_3_training_feedforward_modules_type_0 import Ia3TrainingFeedforwardModulesType0
from .ia_3_training_target_modules_type_0 import Ia3TrainingTargetModulesType0
from .job_error_object import JobErrorObject
from .job_progress import JobProgress
from .job_spec import JobSpec
from .job_spec_metadata_type_0 import JobSpecMetadataType0
from .list_checkpoint_permissions_order import ListCheckpointPermissionsOrder
from .list_files_order import ListFilesOrder
from .lora_training import LoraTraining
from .lora_training_target_modules_type_0 import LoraTrainingTargetModulesType0
from .memory_estimate import MemoryEstimate
from .method import Method
from .method_type import MethodType
from .mlflow_integration import MlflowIntegration
from .mlflow_settings import MlflowSettings
from .mlflow_settings_tags_type_0 import MlflowSettingsTagsType0
from .model_deleted import ModelDeleted
from .model_list import ModelList
from .model_object import ModelObject
from .permission_create import PermissionCreate
from .prefix_tuning import PrefixTuning
from .prompt_tuning import PromptTuning
from .qlora_training import QloraTraining
from .qlora_training_compute_dtype import QloraTrainingComputeDtype
from .qlora_training_target_modules_type_0 import QloraTrainingTargetModulesType0
from .readiness import Readiness
from .readiness_checks import ReadinessChecks
from .readiness_status import ReadinessStatus
from .stream_options import StreamOptions
from .supervised_method import SupervisedMethod
from .throughput import Throughput
from .token_logprob import TokenLogprob
from .top_logprob import TopLogprob
from .training_plan import TrainingPlan
from .training_plan_gradient_checkpointing_type_1 import TrainingPlanGradientCheckpointingType1
from .usage import Usage
from .wandb_integration import WandbIntegration
from .wandb_settings import WandbSettings
from .webhook_delivery_list import WebhookDeliveryList
from .webhook_delivery_try import WebhookDeliveryTry
from .webhook_endpoint_create import WebhookEndpointCreate
from .webhook_endpoint_deleted import WebhookEndpointDeleted
from .webhook_endpoint_list import WebhookEndpointList
from .webhook_endpoint_object import WebhookEndpointObject
from .webhook_endpoint_test_result import WebhookEndpointTestResult
from .webhook_endpoint_update import WebhookEndpointUpdate
from .webhook_endpoint_with_secret import WebhookEndpointWithSecret
from .webhook_event_type_list import WebhookEventTypeList
from .webhook_secret_rotation import WebhookSecretRotation
from .webhook_test_request import WebhookTestRequest

__all__ = (
    "AssistantMessage",
    "ChatChoice",
    "ChatChoiceFinishReason",
    "ChatCompletion",
    "ChatCompletionRequest",
    "ChatCompletionRequestLogitBiasType0",
    "ChatCompletionRequestResponseFormatType0",
    "ChatMessage",
    "ChatMessageRole",
    "CheckpointMetrics",
    "CheckpointPermissionDeleted",
    "CheckpointPermissionList",
    "CheckpointPermissionObject",
    "ChoiceLogprobs",
    "Completion",
    "CompletionChoice",
    "CompletionChoiceFinishReasonType1",
    "CompletionChoiceFinishReasonType2Type1",
    "CompletionChoiceFinishReasonType3Type1",
    "CompletionLogprobs",
    "CompletionLogprobsTopLogprobsType0Item",
    "CompletionRequest",
    "CompletionRequestLogitBiasType0",
    "Compute",
    "ComputeNumProcPerNodeType0",
    "ComputeStrategy",
    "DpoHyperparameters",
    "DpoHyperparametersBatchSizeType0",
    "DpoHyperparametersBetaType0",
    "DpoHyperparametersClassWeightsType1",
    "DpoHyperparametersClassWeightsType2Type1",
    "DpoHyperparametersClassWeightsType3Type1",
    "DpoHyperparametersGradientCheckpointingType0",
    "DpoHyperparametersLearningRateMultiplierType0",
    "DpoHyperparametersLrScheduler",
    "DpoHyperparametersMaxSeqLengthType0",
    "DpoHyperparametersNEpochsType0",
    "DpoMethod",
    "EarlyStopping",
    "ErrorBody",
    "ErrorDetail",
    "FileDeleted",
    "FileList",
    "FileObject",
    "FileObjectStatus",
    "FileUpload",
    "FineTuningJob",
    "FineTuningJobCheckpoint",
    "FineTuningJobCheckpointList",
    "FineTuningJobEstimate",
    "FineTuningJobEvent",
    "FineTuningJobEventData",
    "FineTuningJobEventLevel",
    "FineTuningJobEventList",
    "FineTuningJobEventType",
    "FineTuningJobList",
    "FineTuningJobMetadataType0",
    "FineTuningJobMethod",
    "FineTuningJobStatus",
    "FineTuningJobStreamMessage",
    "FineTuningJobStreamMessageEvent",
    "FineTuningJobTrainingType",
    "Freeze",
    "FullTraining",
    "GradualUnfreezing",
    "HealthzResponse200",
    "Hyperparameters",
    "HyperparametersBatchSizeType0",
    "HyperparametersClassWeightsType1",
    "HyperparametersClassWeightsType2Type1",
    "HyperparametersClassWeightsType3Type1",
    "HyperparametersGradientCheckpointingType0",
    "HyperparametersLearningRateMultiplierType0",
    "HyperparametersLrScheduler",
    "HyperparametersMaxSeqLengthType0",
    "HyperparametersNEpochsType0",
    "HyperparametersObject",
    "HyperparametersObjectBatchSizeType1",
    "HyperparametersObjectLearningRateMultiplierType1",
    "HyperparametersObjectNEpochsType1",
    "Ia3Training",
    "Ia3TrainingFeedforwardModulesType0",
    "Ia3TrainingTargetModulesType0",
    "JobErrorObject",
    "JobProgress",
    "JobSpec",
    "JobSpecMetadataType0",
    "ListCheckpointPermissionsOrder",
    "ListFilesOrder",
    "LoraTraining",
    "LoraTrainingTargetModulesType0",
    "MemoryEstimate",
    "Method",
    "MethodType",
    "MlflowIntegration",
    "MlflowSettings",
    "MlflowSettingsTagsType0",
    "ModelDeleted",
    "ModelList",
    "ModelObject",
    "PermissionCreate",
    "PrefixTuning",
    "PromptTuning",
    "QloraTraining",
    "QloraTrainingComputeDtype",
    "QloraTrainingTargetModulesType0",
    "Readiness",
    "ReadinessChecks",
    "ReadinessStatus",
    "StreamOptions",
    "SupervisedMethod",
    "Throughput",
    "TokenLogprob",
    "TopLogprob",
    "TrainingPlan",
    "TrainingPlanGradientCheckpointingType1",
    "Usage",
    "WandbIntegration",
    "WandbSettings",
    "WebhookDeliveryList",
    "WebhookDeliveryTry",
    "WebhookEndpointCreate",
    "WebhookEndpointDeleted",
    "WebhookEndpointList",
    "WebhookEndpointObject",
    "WebhookEndpointTestResult",
    "WebhookEndpointUpdate",
    "WebhookEndpointWithSecret",
    "WebhookEventTypeList",
    "WebhookSecretRotation",
    "WebhookTestRequest",
)
