"""All models, importable from one place (``from clerkship.models import User``)."""

from clerkship.models.assessments import (
    AssessmentAddendum,
    AssessmentCycle,
    CycleStatus,
    PreceptorAssessment,
    SelfAssessment,
)
from clerkship.models.base import Base, utcnow
from clerkship.models.feedback import (
    FeedbackAnswer,
    FeedbackInstrument,
    FeedbackItem,
    InvitationPurpose,
    PatientFeedback,
    PatientInvitation,
)
from clerkship.models.frameworks import Competency, EntrustmentLevel, EntrustmentScale, Framework
from clerkship.models.goals import (
    ContributionKind,
    GoalContribution,
    GoalShare,
    GoalStatus,
    GoalVersion,
    LearningGoal,
    SuggestionState,
    goal_competency,
)
from clerkship.models.programs import (
    DISCIPLINES,
    Assignment,
    Cohort,
    Enrollment,
    EnrollmentStatus,
    PanelEntry,
    Program,
    program_director,
)
from clerkship.models.records import (
    AuditEvent,
    ExportJob,
    ExportStatus,
    Reflection,
    Signature,
    SignatureMeaning,
    reflection_goal,
)
from clerkship.models.users import Role, User

__all__ = [
    "DISCIPLINES",
    "AssessmentAddendum",
    "AssessmentCycle",
    "Assignment",
    "AuditEvent",
    "Base",
    "Cohort",
    "Competency",
    "ContributionKind",
    "CycleStatus",
    "Enrollment",
    "EnrollmentStatus",
    "EntrustmentLevel",
    "EntrustmentScale",
    "ExportJob",
    "ExportStatus",
    "FeedbackAnswer",
    "FeedbackInstrument",
    "FeedbackItem",
    "Framework",
    "GoalContribution",
    "GoalShare",
    "GoalStatus",
    "GoalVersion",
    "InvitationPurpose",
    "LearningGoal",
    "PanelEntry",
    "PatientFeedback",
    "PatientInvitation",
    "PreceptorAssessment",
    "Program",
    "Reflection",
    "Role",
    "SelfAssessment",
    "Signature",
    "SignatureMeaning",
    "SuggestionState",
    "User",
    "goal_competency",
    "program_director",
    "reflection_goal",
    "utcnow",
]
