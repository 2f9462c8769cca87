from labnet.faults import (
    FaultBook,
    Impairment,
    World,
    apply_world,
    camera_clock_skew,
    camera_impairment,
    check_against,
    faults_from_list,
    impair,
    ntp_settings,
    parse_fault,
)
from labnet.mobile import NO_SIM, Cell, Sim
from labnet.propagation import LinkQuality
from labnet.radio_config import AccessPoint