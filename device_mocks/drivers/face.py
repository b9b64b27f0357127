"""Face (tag `face`): enrolment (人脸采集), 1:1 verification (人脸核验), template erasure, 1:N
identification and the duplicates enrolment found."""

from __future__ import annotations

from typing import Any

from device_mocks.drivers._base import Fields, SceneDriver, tx
from reference.scenes.face import (
    DuplicateListIn,
    DuplicateListOut,
    EnrolIn,
    EnrolOut,
    EraseIn,
    EraseOut,
    IdentifyIn,
    IdentifyOut,
    VerifyIn,
    VerifyOut,
)


class FaceDriver(SceneDriver):
    tag = "face"

    @tx("8121")
    def enrol(self, inp: EnrolIn | Fields | None = None, /, **kw: Any) -> EnrolOut:
        """8121 人脸采集建档 — enrol a face template."""
        return self._call(self.enrol, inp, kw)

    @tx("8122")
    def verify(self, inp: VerifyIn | Fields | None = None, /, **kw: Any) -> VerifyOut:
        """8122 人脸核验（1:1） — verify a face against the person's template."""
        return self._call(self.verify, inp, kw)

    @tx("8123")
    def template_erase(self, inp: EraseIn | Fields | None = None, /, **kw: Any) -> EraseOut:
        """8123 删除人脸模板 — erase a person's face templates."""
        return self._call(self.template_erase, inp, kw)

    @tx("8124")
    def identify(self, inp: IdentifyIn | Fields | None = None, /, **kw: Any) -> IdentifyOut:
        """8124 人脸检索（1:N） — identify a face among the enrolled."""
        return self._call(self.identify, inp, kw)

    @tx("8125")
    def duplicate_list(self, inp: DuplicateListIn | Fields | None = None, /, **kw: Any) -> DuplicateListOut:
        """8125 查询重复建档（一脸多人） — query enrolment duplicates (one face, several persons)."""
        return self._call(self.duplicate_list, inp, kw)
