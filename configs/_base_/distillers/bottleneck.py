# The part every feature distiller of mmtat's baselines on the DeepLabV3
# R101-D8 -> R18-D8 pair (FitNets, AT, MGD: ./fitnets_bottleneck.py,
# ./at_bottleneck.py, ./mgd_bottleneck.py) shares: an MMRazor
# ``ConfigurableDistiller`` that records the output of both networks'
# ``decode_head.bottleneck``, the module TaT distils (TaT takes its map
# before the ReLU, these methods the output): 128 channels for the student,
# 512 for the teacher, at 1/8 of the input.  Those files add their loss, its
# connector and its inputs.  A new name only (``bottleneck_distiller``), as
# theirs.
bottleneck_distiller = dict(
    type='ConfigurableDistiller',
    student_recorders=dict(
        feat=dict(type='ModuleOutputs', source='decode_head.bottleneck')),
    teacher_recorders=dict(
        feat=dict(type='ModuleOutputs', source='decode_head.bottleneck')))
