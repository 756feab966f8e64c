"""Derived hourly series: PV output per m2 (pvlib) and heat-pump COP from temperature."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib

from design.network.case import PV, Case, HeatPump


def hourly_times(case: Case) -> pd.DatetimeIndex:
    """Mid-hour timestamps of the series (hourly means are centred on the half hour)."""
    loc = case.spec.location
    start = pd.Timestamp(loc.start).tz_localize(loc.timezone)
    return pd.date_range(start, periods=case.hours, freq="h") + pd.Timedelta(minutes=30)


def pv_output_per_m2(case: Case, pv: PV) -> np.ndarray:
    """AC-side PV output in kW per m2 of panel area for every hour (PVWatts DC model).

    Solar position from pvlib, DNI split from GHI and DHI (``pvlib.irradiance.dni``),
    isotropic plane-of-array irradiance, SAPM cell temperature, then PVWatts with the
    component's temperature coefficient and flat system losses.
    """
    loc = case.spec.location
    w = case.spec.weather
    times = hourly_times(case)
    ghi = case.column(w.ghi)
    dhi = np.minimum(case.column(w.dhi), ghi)
    temp = case.column(w.temp_air)
    site = pvlib.location.Location(loc.latitude, loc.longitude, loc.timezone, loc.altitude)
    sun = site.get_solarposition(times)
    zenith = sun["apparent_zenith"].to_numpy()
    dni = pvlib.irradiance.dni(ghi, dhi, zenith)
    dni = np.nan_to_num(np.asarray(dni, dtype=float), nan=0.0)
    poa = pvlib.irradiance.get_total_irradiance(
        pv.tilt, pv.azimuth, zenith, sun["azimuth"].to_numpy(), dni, ghi, dhi
    )
    poa_global = np.nan_to_num(np.asarray(poa["poa_global"], dtype=float), nan=0.0)
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
    t_cell = pvlib.temperature.sapm_cell(poa_global, temp, 1.0, **params)
    dc = pvlib.pvsystem.pvwatts_dc(poa_global, t_cell, pv.kw_per_m2, pv.gamma_pdc)
    out = np.clip(np.asarray(dc, dtype=float) * (1.0 - pv.system_losses), 0.0, None)
    return out


def heat_pump_cop(case: Case, hp: HeatPump) -> np.ndarray:
    """COP per hour: Carnot COP between ambient and supply temperature times an efficiency."""
    t_amb = case.column(case.spec.weather.temp_air)
    t_sup = hp.supply_temp + 273.15
    lift = np.maximum(t_sup - (t_amb + 273.15), 5.0)
    return np.clip(hp.carnot_efficiency * t_sup / lift, hp.cop_min, hp.cop_max)
