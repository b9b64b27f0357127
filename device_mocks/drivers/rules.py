"""Rules (tag `rules`): the catalogue and its releases, settlement checks before and during the
event (事前/事中), appeals, post-event analysis (事后), leads (线索), statistics and the
explanation of a decision."""

from __future__ import annotations

from typing import Any

from device_mocks.drivers._base import Fields, SceneDriver, tx
from reference.scenes.analysis import AnalysisIn, AnalysisOut, FeedbackIn, FeedbackOut
from reference.scenes.periods import PeriodIn
from reference.scenes.rules import (
    AppealDecisionIn,
    AppealIn,
    AppealOut,
    CatalogueIn,
    CatalogueOut,
    DraftIn,
    DraftOut,
    LeadListOut,
    LeadOut,
    LeadQueryIn,
    LeadTransitionIn,
    PlanIn,
    PlanOut,
    PostEventOut,
    PrecheckOut,
    ReleaseListOut,
    ReplayIn,
    ReplayOut,
    ReviewOut,
    SettlementIn,
    SimulateIn,
    SimulateOut,
    StatsOut,
    VersionIn,
)


class RulesDriver(SceneDriver):
    tag = "rules"

    @tx("3101")
    def analysis_pre_event(self, inp: AnalysisIn | Fields | None = None, /, **kw: Any) -> AnalysisOut:
        """3101 明细审核事前分析服务 — national pre-event analysis of encounters and their orders."""
        return self._call(self.analysis_pre_event, inp, kw)

    @tx("3102")
    def analysis_in_event(self, inp: AnalysisIn | Fields | None = None, /, **kw: Any) -> AnalysisOut:
        """3102 明细审核事中分析服务 — national in-event analysis of encounters and their orders."""
        return self._call(self.analysis_in_event, inp, kw)

    @tx("3103")
    def analysis_feedback(self, inp: FeedbackIn | Fields | None = None, /, **kw: Any) -> FeedbackOut:
        """3103 事前事中服务反馈服务 — the institution's answer to each violation (jr_id)."""
        return self._call(self.analysis_feedback, inp, kw)

    @tx("8701")
    def catalogue(self, inp: CatalogueIn | Fields | None = None, /, **kw: Any) -> CatalogueOut:
        """8701 规则目录 — the rule catalogue."""
        return self._call(self.catalogue, inp, kw)

    @tx("8702")
    def release_list(self, inp: CatalogueIn | Fields | None = None, /, **kw: Any) -> ReleaseListOut:
        """8702 规则版本列表 — list rule releases."""
        return self._call(self.release_list, inp, kw)

    @tx("8703")
    def release_draft(self, inp: DraftIn | Fields | None = None, /, **kw: Any) -> DraftOut:
        """8703 保存规则版本草稿 — save a draft rule release."""
        return self._call(self.release_draft, inp, kw)

    @tx("8704")
    def release_publish(self, inp: VersionIn | Fields | None = None, /, **kw: Any) -> DraftOut:
        """8704 发布规则版本 — publish a rule release."""
        return self._call(self.release_publish, inp, kw)

    @tx("8705")
    def release_simulate(self, inp: SimulateIn | Fields | None = None, /, **kw: Any) -> SimulateOut:
        """8705 规则草稿历史回测 — evaluate a draft release on history."""
        return self._call(self.release_simulate, inp, kw)

    @tx("8711")
    def precheck(self, inp: SettlementIn | Fields | None = None, /, **kw: Any) -> PrecheckOut:
        """8711 事前提醒 — pre-event reminder check of a settlement."""
        return self._call(self.precheck, inp, kw)

    @tx("8712")
    def review(self, inp: SettlementIn | Fields | None = None, /, **kw: Any) -> ReviewOut:
        """8712 事中审核 — in-event settlement review."""
        return self._call(self.review, inp, kw)

    @tx("8713")
    def appeal(self, inp: AppealIn | Fields | None = None, /, **kw: Any) -> AppealOut:
        """8713 结算申诉 — appeal a refused or suspended settlement."""
        return self._call(self.appeal, inp, kw)

    @tx("8714")
    def appeal_decide(self, inp: AppealDecisionIn | Fields | None = None, /, **kw: Any) -> AppealOut:
        """8714 申诉审核 — decide an appeal."""
        return self._call(self.appeal_decide, inp, kw)

    @tx("8801")
    def post_event(self, inp: PeriodIn | Fields | None = None, /, **kw: Any) -> PostEventOut:
        """8801 事后分析 — run post-event analysis over a period."""
        return self._call(self.post_event, inp, kw)

    @tx("8811")
    def leads_list(self, inp: LeadQueryIn | Fields | None = None, /, **kw: Any) -> LeadListOut:
        """8811 查询线索 — query leads."""
        return self._call(self.leads_list, inp, kw)

    @tx("8812")
    def leads_transition(self, inp: LeadTransitionIn | Fields | None = None, /, **kw: Any) -> LeadOut:
        """8812 线索流转 — move a lead along its workflow."""
        return self._call(self.leads_transition, inp, kw)

    @tx("8813")
    def leads_audit_plan(self, inp: PlanIn | Fields | None = None, /, **kw: Any) -> PlanOut:
        """8813 月度稽核计划 — the monthly audit plan."""
        return self._call(self.leads_audit_plan, inp, kw)

    @tx("8721")
    def stats(self, inp: PeriodIn | Fields | None = None, /, **kw: Any) -> StatsOut:
        """8721 规则统计 — rule statistics over a period."""
        return self._call(self.stats, inp, kw)

    @tx("8722")
    def decision_explain(self, inp: ReplayIn | Fields | None = None, /, **kw: Any) -> ReplayOut:
        """8722 决策解释与重放 — explain and replay a decision."""
        return self._call(self.decision_explain, inp, kw)
