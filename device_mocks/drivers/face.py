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

    @tx("2001")
    def enrol(self, inp: EnrolIn | Fields | None = None, /, **kw: Any) -> EnrolOut:
        """2001 人脸采集建档 — enrol a face template."""
        return self._call(self.enrol, inp, kw)

    @tx("2002")
    def verify(self, inp: VerifyIn | Fields | None = None, /, **kw: Any) -> VerifyOut:
        """2002 人脸核验（1:1） — verify a face against the person's template."""
        return self._call(self.verify, inp, kw)

    @tx("2003")
    def template_erase(self, inp: EraseIn | Fields | None = None, /, **kw: Any) -> EraseOut:
        """2003 删除人脸模板 — erase a person's face templates."""
        return self._call(self.template_erase, inp, kw)

    @tx("2004")
    def identify(self, inp: IdentifyIn | Fields | None = None, /, **kw: Any) -> IdentifyOut:
        """2004 人脸检索（1:N） — identify a face among the enrolled."""
        return self._call(self.identify, inp, kw)

    @tx("2005")
    def duplicate_list(self, inp: DuplicateListIn | Fields | None = None, /, **kw: Any) -> DuplicateListOut:
        """2005 查询重复建档（一脸多人） — query enrolment duplicates (one face, several persons)."""
        return self._call(self.duplicate_list, inp, kw)
