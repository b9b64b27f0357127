"""The registry (tag `registry`): insured persons, districts, institutions, their monitored
scenes (8014), bureau accounts and senders' signing modes (8016); and the national
basic-information reads 1101 (person information, `data={...}`) and 1201 (institution
information, `medinsinfo={...}`)."""

from __future__ import annotations

from typing import Any

from device_mocks.drivers._base import Fields, SceneDriver, tx
from reference.scenes.basic_info import InstitutionInfoIn, InstitutionInfoOut, PersonInfoIn, PersonInfoOut
from reference.scenes.registry import (
    DistrictIn,
    DistrictOut,
    InstitutionIn,
    InstitutionOut,
    InstitutionQueryIn,
    PersonFlagsIn,
    PersonIn,
    PersonOut,
    PersonQueryIn,
    SceneIn,
    UserIn,
    UserOut,
)
from reference.scenes.signing_modes import TifModeIn, TifModeOut


class RegistryDriver(SceneDriver):
    tag = "registry"

    @tx("1101")
    def person_info(self, inp: PersonInfoIn | Fields | None = None, /, **kw: Any) -> PersonInfoOut:
        """1101 人员信息获取 — person information in the national shape: `data={"mdtrt_cert_type": "02",
        "mdtrt_cert_no": <ID number>, "psn_name": <name on the card>}`; an institution's read links
        the person to it."""
        return self._call(self.person_info, inp, kw)

    @tx("1201")
    def institution_info(self, inp: InstitutionInfoIn | Fields | None = None, /, **kw: Any) -> InstitutionInfoOut:
        """1201 医药机构信息获取 — institution information in the national shape: `medinsinfo=
        {"fixmedins_type": "1", "fixmedins_code" or "fixmedins_name": ...}`."""
        return self._call(self.institution_info, inp, kw)

    @tx("8001")
    def person_add(self, inp: PersonIn | Fields | None = None, /, **kw: Any) -> PersonOut:
        """8001 登记参保人员 — register an insured person."""
        return self._call(self.person_add, inp, kw)

    @tx("8002")
    def person_get(self, inp: PersonQueryIn | Fields | None = None, /, **kw: Any) -> PersonOut:
        """8002 查询参保人员 — query an insured person."""
        return self._call(self.person_get, inp, kw)

    @tx("8003")
    def person_flags(self, inp: PersonFlagsIn | Fields | None = None, /, **kw: Any) -> PersonOut:
        """8003 设置人员标识 — set a person's flags (e.g. suspected deceased)."""
        return self._call(self.person_flags, inp, kw)

    @tx("8011")
    def district_add(self, inp: DistrictIn | Fields | None = None, /, **kw: Any) -> DistrictOut:
        """8011 新增区县 — add a district."""
        return self._call(self.district_add, inp, kw)

    @tx("8012")
    def institution_add(self, inp: InstitutionIn | Fields | None = None, /, **kw: Any) -> InstitutionOut:
        """8012 新增定点医药机构 — add a designated institution; the answer carries its signing
        secret, once."""
        return self._call(self.institution_add, inp, kw)

    @tx("8013")
    def institution_get(self, inp: InstitutionQueryIn | Fields | None = None, /, **kw: Any) -> InstitutionOut:
        """8013 查询定点机构 — query an institution."""
        return self._call(self.institution_get, inp, kw)

    @tx("8014")
    def institution_scene(self, inp: SceneIn | Fields | None = None, /, **kw: Any) -> InstitutionOut:
        """8014 设置机构监控场景 — enable or disable a monitored scene for an institution."""
        return self._call(self.institution_scene, inp, kw)

    @tx("8015")
    def user_add(self, inp: UserIn | Fields | None = None, /, **kw: Any) -> UserOut:
        """8015 新增监管或运维账号 — add a bureau or operations account (secret returned once)."""
        return self._call(self.user_add, inp, kw)

    @tx("8016")
    def signing_mode(self, inp: TifModeIn | Fields | None = None, /, **kw: Any) -> TifModeOut:
        """8016 设置发送方网关签名兼容模式 — switch a sender's x-tif gateway-header mode (city bureau)."""
        return self._call(self.signing_mode, inp, kw)
