"""The response bodies of both surfaces, as models: every body is built through one of these.

Building through the models keeps the OpenAPI document (``/sandbox/openapi.json``) and what
the routes send the same thing. Optional fields are left out of a body, never sent as null,
except the gateway error's ``param``, which the guide's error shape always carries.

``sandbox_shots`` (on a task read of either surface) is the sandbox's own addition, documented
as such: the shot list it read from the prompt (see shot_plan.py).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Number = int | float


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


# -- Sandbox only ----------------------------------------------------------------------------


class SandboxShot(_Body):
    number: int
    start: Number = Field(description="Seconds from the start of the video.")
    end: Number
    text: str
    media: list[int] = Field(description="Indexes into input.media of the references the shot names.")


class SandboxShots(_Body):
    """The shot list the sandbox read from the prompt (shot_plan.py). The real services send no such field."""

    shots: list[SandboxShot]
    unparsed: list[str] = Field(description="Shot lines whose time range could not be read, as written.")


_SANDBOX_SHOTS = "Sandbox only, never sent by the real services: the timed shots the sandbox read from the prompt."


# -- DashScope (/sandbox/api/v1) -----------------------------------------------------------


class DashScopeError(_Body):
    request_id: str
    code: str = Field(examples=["InvalidParameter", "InvalidApiKey", "Throttling.RateQuota"])
    message: str


class SubmitOutput(_Body):
    task_id: str
    task_status: Literal["PENDING"]


class DashScopeSubmitted(_Body):
    request_id: str
    output: SubmitOutput


class TaskOutput(_Body):
    task_id: str
    task_status: Literal["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN"]
    submit_time: str | None = Field(None, description="UTC+8, YYYY-MM-DD HH:mm:ss.SSS")
    scheduled_time: str | None = None
    end_time: str | None = None
    orig_prompt: str | None = None
    video_url: str | None = Field(None, description="Only when SUCCEEDED; valid for the retention period.")
    code: str | None = Field(None, description="Only when FAILED.")
    message: str | None = None
    sandbox_shots: SandboxShots | None = Field(None, description=_SANDBOX_SHOTS)


class Usage(_Body):
    duration: Number
    input_video_duration: Number
    output_video_duration: Number
    video_count: int = 1
    ratio: str | None = None
    SR: int = Field(description="720 or 1080")


class DashScopeTask(_Body):
    request_id: str
    output: TaskOutput
    usage: Usage | None = Field(None, description="Only when SUCCEEDED.")


class DashScopeCanceled(_Body):
    request_id: str


class ListedTask(_Body):
    task_id: str
    status: str
    model_name: str
    gmt_create: str
    start_time: str | None = None
    end_time: str | None = None


class DashScopeTaskList(_Body):
    request_id: str
    data: list[ListedTask]
    total: int
    total_page: int
    page_no: int
    page_size: int


class UploadCertificate(_Body):
    policy: str
    signature: str
    upload_dir: str
    upload_host: str
    expire_in_seconds: int
    max_file_size_mb: int
    capacity_limit_mb: int
    oss_access_key_id: str
    x_oss_object_acl: str
    x_oss_forbid_overwrite: str


class DashScopeUploadPolicy(_Body):
    request_id: str
    data: UploadCertificate


# -- Gateway (/sandbox/v1) -----------------------------------------------------------------


class GatewayErrorDetail(BaseModel):
    type: str = Field(
        examples=["invalid_request_error", "authentication_error", "rate_limit_exceeded", "internal_error"]
    )
    code: str
    message: str
    param: str | None


class GatewayError(BaseModel):
    error: GatewayErrorDetail


GatewayStatus = Literal["queued", "in_progress", "completed", "failed"]


class GatewayCreated(_Body):
    task_id: str
    model: str
    mode: str
    status: Literal["queued"]
    created_at: str


class VideoResult(_Body):
    type: Literal["video"] = "video"
    url: str
    width: int
    height: int
    duration: Number
    fps: int
    seed: int


class TaskError(_Body):
    code: str
    message: str
    param: str | None = None


class GatewayTask(_Body):
    task_id: str
    model: str
    mode: str
    status: GatewayStatus
    progress: int = Field(ge=0, le=100)
    created_at: str
    queue_position: int | None = Field(None, description="Tasks ahead of this one; only while queued.")
    started_at: str | None = None
    completed_at: str | None = None
    expires_at: str | None = Field(None, description="When the result URL stops working.")
    result: VideoResult | None = None
    error: TaskError | None = None
    sandbox_shots: SandboxShots | None = Field(None, description=_SANDBOX_SHOTS)


class StoredFile(_Body):
    id: str
    object: Literal["file"] = "file"
    url: str
    filename: str
    bytes: int
    content_type: str
    created_at: str
    expires_at: str
