from .lean_single_teacher_distill import LeanSingleTeacherDistill

__all__ = ['LeanSingleTeacherDistill']
