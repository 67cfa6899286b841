"""engage.goals.v1.GoalsService, one mixin per group of RPCs, composed in server.rpc.goals_servicer."""
