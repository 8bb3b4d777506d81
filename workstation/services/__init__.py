"""Services: memoized connection services and the glue that injects context values into clients."""
