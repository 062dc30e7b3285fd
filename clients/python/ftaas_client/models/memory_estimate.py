from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="MemoryEstimate")


@_attrs_define
class MemoryEstimate:
    """
    Attributes:
        activation_budget_bytes (int): What one forward may keep for its backward
            (FTAAS_TRAINING_ACTIVATION_BUDGET_BYTES, else a share of the accelerator's memory left after the weights, else 2
            GiB on CPU).
        activation_bytes (int): The activations of the largest forward the job's batches make.
        device (str): `cuda` (the worker's accelerator) or `cpu`.
        device_memory_bytes (int): The accelerator's memory; on CPU, the machine's (or the container's limit), shared by
            the training processes.
        fits (bool): peak_bytes ≤ device_memory_bytes.
        gradient_checkpointing (bool): Whether training will recompute activations.
        peak_bytes (int): weights + trainable state + activations, per process (times the processes on CPU, which share
            one memory).
        total_parameters (int):
        trainable_parameters (int):
        trainable_state_bytes (int): Gradients and AdamW's two moments of the trainable parameters, per process.
        weights_bytes (int): The model's weights as training loads them (4-bit for qlora), per process.
        sharded (bool | Unset): Whether FSDP2 shards the weights and trainable state over the job's processes
            (compute.strategy, or its auto choice); then the two are each process's share. Default: False.
    """

    activation_budget_bytes: int
    activation_bytes: int
    device: str
    device_memory_bytes: int
    fits: bool
    gradient_checkpointing: bool
    peak_bytes: int
    total_parameters: int
    trainable_parameters: int
    trainable_state_bytes: int
    weights_bytes: int
    sharded: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        activation_budget_bytes = self.activation_budget_bytes

        activation_bytes = self.activation_bytes

        device = self.device

        device_memory_bytes = self.device_memory_bytes

        fits = self.fits

        gradient_checkpointing = self.gradient_checkpointing

        peak_bytes = self.peak_bytes

        total_parameters = self.total_parameters

        trainable_parameters = self.trainable_parameters

        trainable_state_bytes = self.trainable_state_bytes

        weights_bytes = self.weights_bytes

        sharded = self.sharded

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "activation_budget_bytes": activation_budget_bytes,
                "activation_bytes": activation_bytes,
                "device": device,
                "device_memory_bytes": device_memory_bytes,
                "fits": fits,
                "gradient_checkpointing": gradient_checkpointing,
                "peak_bytes": peak_bytes,
                "total_parameters": total_parameters,
                "trainable_parameters": trainable_parameters,
                "trainable_state_bytes": trainable_state_bytes,
                "weights_bytes": weights_bytes,
            }
        )
        if sharded is not UNSET:
            field_dict["sharded"] = sharded

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        activation_budget_bytes = d.pop("activation_budget_bytes")

        activation_bytes = d.pop("activation_bytes")

        device = d.pop("device")

        device_memory_bytes = d.pop("device_memory_bytes")

        fits = d.pop("fits")

        gradient_checkpointing = d.pop("gradient_checkpointing")

        peak_bytes = d.pop("peak_bytes")

        total_parameters = d.pop("total_parameters")

        trainable_parameters = d.pop("trainable_parameters")

        trainable_state_bytes = d.pop("trainable_state_bytes")

        weights_bytes = d.pop("weights_bytes")

        sharded = d.pop("sharded", UNSET)

        memory_estimate = cls(
            activation_budget_bytes=activation_budget_bytes,
            activation_bytes=activation_bytes,
            device=device,
            device_memory_bytes=device_memory_bytes,
            fits=fits,
            gradient_checkpointing=gradient_checkpointing,
            peak_bytes=peak_bytes,
            total_parameters=total_parameters,
            trainable_parameters=trainable_parameters,
            trainable_state_bytes=trainable_state_bytes,
            weights_bytes=weights_bytes,
            sharded=sharded,
        )

        memory_estimate.additional_properties = d
        return memory_estimate

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
