package bench

// RouteBeforeBench is the codex's router before it read pass rates.
const RouteBeforeBench = routeBeforeBench

// CodexMethod is codexMethod.
var CodexMethod = codexMethod
