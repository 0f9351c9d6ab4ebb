/**
 * Readiness at the connection limit, with hysteresis: not ready once the pod holds `max`
 * connections (the load balancer sends new ones elsewhere; existing ones stay), ready again only
 * below `resumePercent` of `max`, so the pod does not flap at the boundary.
 */
export class CapacityGate {
  private full = false;

  constructor(private readonly max: number, private readonly resumePercent: number) {}

  accepting(connections: number): boolean {
    if (connections >= this.max) this.full = true;
    else if (connections < Math.floor((this.max * this.resumePercent) / 100)) this.full = false;
    return !this.full;
  }
}
