"""The driver machinery: a scene driver is a class with one typed method per transaction.

    class InpatientDriver(SceneDriver):
        tag = "inpatient"

        @tx("8201")
        def admit(self, inp: AdmitIn | Fields | None = None, /, **kw: Any) -> VisitOut:
            \"\"\"8201 入院信息上传 — upload an admission.\"\"\"
            return self._call(self.admit, inp, kw)

A method takes the transaction's input model, or a mapping and/or keyword arguments that are
validated into it (in JSON mode, as the server validates them, so ISO strings are fine for
dates), sends it through the driver's transport, and returns the output model parsed from the
answer. A refusal raises `TxError` (infcode, err_field, err_msg, envelope). `driver.send(
driver.admit, ...)` sends the same validated input but returns the `TxResult` whatever the
answer, for callers that look at refusals themselves.

Only the fields the caller gave are sent (`exclude_unset`): a driver never hard-codes a field
list, so fields other engineers add to a model pass straight through. The models are read from
the method's annotations once, when the class is made; tests/device_mocks/test_drivers.py holds
every driver to the transaction registry (`reference.transactions`) — a transaction without a
method, a method without a transaction, or an annotation that is not the registry's model fails.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar, cast

from pydantic import BaseModel, ValidationError
from pydantic_core import to_json

from device_mocks.results import OutputMismatch, TxError, TxResult

#: An input given as plain data: a mapping of the input model's fields.
Fields = Mapping[str, Any]
OutT = TypeVar("OutT", bound=BaseModel)
_INFNO = "__scenemon_infno__"
_BINDING = "__scenemon_binding__"


class Sends(Protocol):
    """What a driver needs from a transport (`device_mocks.transport.Transport`)."""

    def send(self, infno: str, input: dict[str, Any], *, msgid: str | None = None) -> TxResult: ...


def tx(infno: str) -> Callable[[Callable[..., OutT]], Callable[..., OutT]]:
    """Mark a driver method as the one for transaction `infno`."""

    def mark(fn: Callable[..., OutT]) -> Callable[..., OutT]:
        setattr(fn, _INFNO, infno)
        return fn

    return mark


def _plain(value: Any) -> Any:
    """JSON fallback for array-likes in keyword arguments (e.g. an embedding as a numpy array)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON data")


@dataclass(frozen=True)
class Binding:
    """A driver method's transaction: its number and the models from its annotations."""

    infno: str
    name: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]

    @classmethod
    def of(cls, owner: type, fn: Callable[..., Any], infno: str) -> Binding:
        where = f"{owner.__name__}.{fn.__name__}"
        hints = typing.get_type_hints(fn)
        params = list(inspect.signature(fn).parameters.values())
        if (len(params) != 3 or params[1].kind is not inspect.Parameter.POSITIONAL_ONLY
                or params[2].kind is not inspect.Parameter.VAR_KEYWORD):
            raise TypeError(f"{where}: a driver method is (self, inp: InModel | Fields | None = None, /, **kw)")
        models = [a for a in typing.get_args(hints.get(params[1].name)) if _is_model(a)]
        out = hints.get("return")
        if len(models) != 1 or not _is_model(out):
            raise TypeError(f"{where}: annotate the input as `InModel | Fields | None` and the return as the "
                            "output model")
        return cls(infno, fn.__name__, models[0], cast(type[BaseModel], out))

    def request(self, inp: BaseModel | Fields | None, kw: Mapping[str, Any]) -> dict[str, Any]:
        """The input as sent: validated into the input model, only the fields given."""
        model = self.input_model
        if isinstance(inp, model) and not kw:
            value = inp
        else:
            if isinstance(inp, BaseModel):
                if not isinstance(inp, model):
                    raise TypeError(f"{self.infno} takes {model.__name__}, not {type(inp).__name__}")
                fields: dict[str, Any] = inp.model_dump(mode="json", exclude_unset=True, by_alias=True)
            elif inp is None or isinstance(inp, Mapping):
                fields = dict(inp or {})
            else:
                raise TypeError(f"{self.infno} takes {model.__name__} or a mapping, not {type(inp).__name__}")
            value = model.model_validate_json(to_json({**fields, **kw}, fallback=_plain))
        return value.model_dump(mode="json", exclude_unset=True, by_alias=True)

    def response(self, res: TxResult) -> BaseModel:
        """The output model parsed from an accepted answer (JSON mode, as it came)."""
        try:
            return self.output_model.model_validate_json(to_json(res.output))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "output"
            raise OutputMismatch(res, self.infno, self.output_model.__name__,
                                 f"output.{where}: {first['msg']}") from exc


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and not isinstance(obj, types.GenericAlias) and issubclass(obj, BaseModel)


class SceneDriver:
    """The transactions of one scene (one registry tag), sent as one account through one
    transport. Subclasses set `tag` and define their methods with `@tx`."""

    tag: ClassVar[str]
    #: method name → its transaction, for every `@tx` method of the class
    bindings: ClassVar[dict[str, Binding]] = {}

    def __init__(self, transport: Sends) -> None:
        self.transport = transport

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.bindings = {}
        for name, fn in vars(cls).items():
            infno = getattr(fn, _INFNO, None)
            if infno is not None:
                binding = Binding.of(cls, fn, infno)
                setattr(fn, _BINDING, binding)
                cls.bindings[name] = binding

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.transport!r})"

    def send(self, method: Callable[..., BaseModel], inp: BaseModel | Fields | None = None, /,
             **kw: Any) -> TxResult:
        """Send `method`'s transaction with the input validated as `method` would, and return
        the answer without raising on a refusal: ``res = drv.send(drv.face_check, inp)``."""
        binding = self._binding(method)
        return self.transport.send(binding.infno, binding.request(inp, kw))

    def _call(self, method: Callable[..., OutT], inp: BaseModel | Fields | None, kw: Mapping[str, Any]) -> OutT:
        binding = self._binding(method)
        res = self.transport.send(binding.infno, binding.request(inp, kw))
        if not res.ok:
            raise TxError(res, binding.infno)
        return cast(OutT, binding.response(res))

    def _binding(self, method: Callable[..., Any]) -> Binding:
        binding = getattr(getattr(method, "__func__", None), _BINDING, None)
        if binding is None or getattr(method, "__self__", None) is not self:
            example = next(iter(self.bindings), "method")
            raise TypeError(f"pass one of this driver's own methods (drv.send(drv.{example}, ...)), not {method!r}")
        return cast(Binding, binding)
