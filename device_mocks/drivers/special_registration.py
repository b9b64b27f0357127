"""Special registration (tag `special_registration`, 特殊登记): attachments, submission,
supplement, review and query — shared by every scene that excuses a missed check."""

from __future__ import annotations

from typing import Any

from device_mocks.drivers._base import Fields, SceneDriver, tx
from reference.scenes.special_registration import (
    AttachmentOut,
    RegListOut,
    RegOut,
    RegQueryIn,
    ReviewIn,
    SubmitIn,
    SupplementIn,
    UploadIn,
)


class SpecialRegistrationDriver(SceneDriver):
    tag = "special_registration"

    @tx("8601")
    def attachment(self, inp: UploadIn | Fields | None = None, /, **kw: Any) -> AttachmentOut:
        """8601 上传特殊登记附件 — upload an attachment (base64 content)."""
        return self._call(self.attachment, inp, kw)

    @tx("8602")
    def submit(self, inp: SubmitIn | Fields | None = None, /, **kw: Any) -> RegOut:
        """8602 特殊登记 — submit a special registration."""
        return self._call(self.submit, inp, kw)

    @tx("8603")
    def supplement(self, inp: SupplementIn | Fields | None = None, /, **kw: Any) -> RegOut:
        """8603 特殊登记补充材料 — supplement a rejected special registration."""
        return self._call(self.supplement, inp, kw)

    @tx("8604")
    def review(self, inp: ReviewIn | Fields | None = None, /, **kw: Any) -> RegOut:
        """8604 特殊登记审核 — review a special registration."""
        return self._call(self.review, inp, kw)

    @tx("8605")
    def query(self, inp: RegQueryIn | Fields | None = None, /, **kw: Any) -> RegListOut:
        """8605 查询特殊登记 — query special registrations."""
        return self._call(self.query, inp, kw)
