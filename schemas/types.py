"""Field types shared by every event model."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,127}$"

Id = Annotated[
    str,
    StringConstraints(pattern=ID_PATTERN),
    Field(description="A lowercase slug identifier: [a-z0-9][a-z0-9._-]{0,127}"),
]
Percent = Annotated[float, Field(ge=0, le=100, description="Percent, 0-100")]
UsdAmount = Annotated[float, Field(ge=0, allow_inf_nan=False, description="US dollars per year")]
NonEmptyStr = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
