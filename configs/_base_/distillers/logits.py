# The part every logit distiller of mmtat's baselines (KD, CWD, DIST:
# ./kd_logits.py, ./cwd_logits.py, ./dist_logits.py) shares: an MMRazor
# ``ConfigurableDistiller`` that records the output of both networks'
# classifiers, ``decode_head.conv_seg`` (the logits, one channel per class,
# before the upsampling to the input).  Those files add their loss and its
# inputs.  A new name only (``logit_distiller``), as theirs.
logit_distiller = dict(
    type='ConfigurableDistiller',
    student_recorders=dict(
        logits=dict(type='ModuleOutputs', source='decode_head.conv_seg')),
    teacher_recorders=dict(
        logits=dict(type='ModuleOutputs', source='decode_head.conv_seg')))
