"""Input models shared by transactions that cover a period of business days."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from pydantic import ConfigDict, Field, model_validator

from reference.clock import CST
from reference.envelope import Model
from reference.fields import BizDate

MAX_PERIOD_DAYS = 366


class PeriodIn(Model):
    model_config = ConfigDict(json_schema_extra={"x-server-checks": [
        f"end is not before start, and at most {MAX_PERIOD_DAYS} days after it"]})

    start: BizDate = Field(description="First day of the period (inclusive)")
    end: BizDate = Field(description=f"Last day of the period (inclusive); at most {MAX_PERIOD_DAYS} days after start")

    @model_validator(mode="after")
    def _order(self):
        if self.end < self.start:
            raise ValueError("end is before start")
        if (self.end - self.start).days > MAX_PERIOD_DAYS:
            raise ValueError(f"a period is at most {MAX_PERIOD_DAYS} days")
        return self

    def bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00, day after end 00:00) in China Standard Time."""
        return (datetime.combine(self.start, time(), CST), datetime.combine(self.end + timedelta(days=1), time(), CST))
