from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.compute_num_proc_per_node_type_0 import ComputeNumProcPerNodeType0
from ..models.compute_strategy import ComputeStrategy
from ..types import UNSET, Unset

T = TypeVar("T", bound="Compute")


@_attrs_define
class Compute:
    """
    Attributes:
        num_nodes (int | Unset): Machines to train on; more than one runs the job as a Kubeflow Trainer TrainJob.
            Default: 1.
        num_proc_per_node (ComputeNumProcPerNodeType0 | int | Unset): Training processes on each node (auto: one per
            accelerator, one on CPU). Default: ComputeNumProcPerNodeType0.AUTO.
        strategy (ComputeStrategy | Unset): How the processes share the work: ddp (each holds the whole model), fsdp
            (FSDP2 shards parameters, gradients and optimizer state), or auto (FSDP2 for full fine-tuning; DDP for the
            adapter methods, FSDP2 where the base model takes more than half of one accelerator). Default:
            ComputeStrategy.AUTO.
    """

    num_nodes: int | Unset = 1
    num_proc_per_node: ComputeNumProcPerNodeType0 | int | Unset = ComputeNumProcPerNodeType0.AUTO
    strategy: ComputeStrategy | Unset = ComputeStrategy.AUTO
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        num_nodes = self.num_nodes

        num_proc_per_node: int | str | Unset
        if isinstance(self.num_proc_per_node, Unset):
            num_proc_per_node = UNSET
        elif isinstance(self.num_proc_per_node, ComputeNumProcPerNodeType0):
            num_proc_per_node = self.num_proc_per_node.value
        else:
            num_proc_per_node = self.num_proc_per_node

        strategy: str | Unset = UNSET
        if not isinstance(self.strategy, Unset):
            strategy = self.strategy.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if num_nodes is not UNSET:
            field_dict["num_nodes"] = num_nodes
        if num_proc_per_node is not UNSET:
            field_dict["num_proc_per_node"] = num_proc_per_node
        if strategy is not UNSET:
            field_dict["strategy"] = strategy

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        num_nodes = d.pop("num_nodes", UNSET)

        def _parse_num_proc_per_node(data: object) -> ComputeNumProcPerNodeType0 | int | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                num_proc_per_node_type_0 = ComputeNumProcPerNodeType0(data)

                return num_proc_per_node_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ComputeNumProcPerNodeType0 | int | Unset, data)

        num_proc_per_node = _parse_num_proc_per_node(d.pop("num_proc_per_node", UNSET))

        _strategy = d.pop("strategy", UNSET)
        strategy: ComputeStrategy | Unset
        if isinstance(_strategy, Unset):
            strategy = UNSET
        else:
            strategy = ComputeStrategy(_strategy)

        compute = cls(
            num_nodes=num_nodes,
            num_proc_per_node=num_proc_per_node,
            strategy=strategy,
        )

        compute.additional_properties = d
        return compute

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
